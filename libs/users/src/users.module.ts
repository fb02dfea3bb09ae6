import { Module, OnModuleInit } from '@nestjs/common';
import { ScimRegistry } from '@app/scim';
import { USER_RESOURCE_TYPE } from './user.schema';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  controllers: [UsersController],
  providers: [UsersService, UsersRepository],
  exports: [UsersService, UsersRepository],
})
export class UsersModule implements OnModuleInit {
  constructor(private readonly registry: ScimRegistry) {}
  onModuleInit(): void {
    this.registry.register(USER_RESOURCE_TYPE);
  }
}
