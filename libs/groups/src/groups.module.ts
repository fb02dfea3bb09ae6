import { Module } from '@nestjs/common';
import { ScimRegistry } from '@app/scim';
import { UserReferences, UsersModule } from '@app/users';
import { GROUP_RESOURCE_TYPE } from './group.schema';
import { GroupMemberships } from './group-memberships';
import { GroupReferences } from './group-references';
import { GroupsController } from './groups.controller';
import { GroupsRepository } from './groups.repository';
import { GroupsService } from './groups.service';

@Module({
  imports: [UsersModule],
  controllers: [GroupsController],
  providers: [GroupsService, GroupsRepository, GroupReferences, GroupMemberships],
  exports: [GroupsService, GroupsRepository, GroupReferences, GroupMemberships],
})
export class GroupsModule {
  // Registered when the module is instantiated, before init, so the OpenAPI document can be built before routes are sealed.
  constructor(registry: ScimRegistry, userReferences: UserReferences, memberships: GroupMemberships) {
    registry.register(GROUP_RESOURCE_TYPE);
    // Deleting a user removes their memberships through the one membership writer, so each group gets a new version.
    userReferences.register({ removeReferencesTo: (m, userId, by) => memberships.removeUser(m, userId, by) });
  }
}
