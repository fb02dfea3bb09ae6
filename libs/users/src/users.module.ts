import { Module } from '@nestjs/common';
import { ScimRegistry } from '@app/scim';
import { USER_RESOURCE_TYPE } from './user.schema';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';
import { UserReferences } from './user-references';

@Module({
  controllers: [UsersController],
  providers: [UsersService, UsersRepository, UserReferences],
  exports: [UsersService, UsersRepository, UserReferences],
})
export class UsersModule {
  // Registered when the module is instantiated, before init, so the OpenAPI document can be built before routes are sealed.
  constructor(registry: ScimRegistry) {
    registry.register(USER_RESOURCE_TYPE);
  }
}
