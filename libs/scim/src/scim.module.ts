import { Global, Module } from '@nestjs/common';
import { DiscoveryController } from './discovery.controller';
import { PublicUrl } from './public-url';
import { ScimRegistry } from './registry';

@Global()
@Module({
  controllers: [DiscoveryController],
  providers: [ScimRegistry, PublicUrl],
  exports: [ScimRegistry, PublicUrl],
})
export class ScimModule {}
