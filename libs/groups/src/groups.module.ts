import { Module } from '@nestjs/common';
import { ScimRegistry } from '@app/scim';
import { UsersModule } from '@app/users';
import { GROUP_RESOURCE_TYPE } from './group.schema';
import { GroupReferences } from './group-references';
import { GroupsController } from './groups.controller';
import { GroupsRepository } from './groups.repository';
import { GroupsService } from './groups.service';

@Module({
  imports: [UsersModule],
  controllers: [GroupsController],
  providers: [GroupsService, GroupsRepository, GroupReferences],
  exports: [GroupsService, GroupsRepository, GroupReferences],
})
export class GroupsModule {
  // Registered when the module is instantiated, before init, so the OpenAPI document can be built before routes are sealed.
  constructor(registry: ScimRegistry) {
    registry.register(GROUP_RESOURCE_TYPE);
  }
}
