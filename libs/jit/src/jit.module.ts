import { Module } from '@nestjs/common';
import { ScimRegistry } from '@app/scim';
import { MAPPED_ATTRIBUTE_RESOURCE_TYPE } from './mapped-attribute.schema';
import { MappedAttributesController } from './mapped-attributes.controller';
import { MappedAttributesService } from './mapped-attributes.service';

/** JIT configuration: the jitUserProv* rules, the MappedAttributes resource and (later) the JIT planner. */
@Module({
  controllers: [MappedAttributesController],
  providers: [MappedAttributesService],
  exports: [MappedAttributesService],
})
export class JitConfigurationModule {
  constructor(registry: ScimRegistry) {
    registry.register(MAPPED_ATTRIBUTE_RESOURCE_TYPE);
  }
}
