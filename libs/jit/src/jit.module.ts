import { Module } from '@nestjs/common';
import { GroupsModule } from '@app/groups';
import { ScimRegistry } from '@app/scim';
import { UsersModule } from '@app/users';
import { DormantUsersService } from './dormant-users.service';
import { JitImpactService } from './jit-impact.service';
import { JitLoginService } from './jit-login.service';
import { MAPPED_ATTRIBUTE_RESOURCE_TYPE } from './mapped-attribute.schema';
import { MappedAttributesController } from './mapped-attributes.controller';
import { MappedAttributesService } from './mapped-attributes.service';

/** JIT configuration: the jitUserProv* rules, the MappedAttributes resource, the JIT planner and its applier. */
@Module({
  imports: [UsersModule, GroupsModule],
  controllers: [MappedAttributesController],
  providers: [MappedAttributesService, JitLoginService, JitImpactService, DormantUsersService],
  exports: [MappedAttributesService, JitLoginService, JitImpactService, DormantUsersService],
})
export class JitConfigurationModule {
  constructor(registry: ScimRegistry) {
    registry.register(MAPPED_ATTRIBUTE_RESOURCE_TYPE);
  }
}
