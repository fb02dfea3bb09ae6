import { Module } from '@nestjs/common';
import { GroupReferences, GroupsModule } from '@app/groups';
import { JitConfigurationModule } from '@app/jit';
import { ScimRegistry } from '@app/scim';
import { IDENTITY_PROVIDER_RESOURCE_TYPE } from './identity-provider.schema';
import { IdentityProvidersController } from './identity-providers.controller';
import { IdentityProvidersService } from './identity-providers.service';
import { IdentityProviderImpact } from './jit-impact-request';
import { DormantUsersJob } from './dormant-users-job';
import { METADATA_REFRESH_OPTIONS, MetadataRefreshService, metadataRefreshOptionsFromEnv } from './metadata-refresh.service';
import { SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE } from './social-identity-provider.schema';
import { SocialIdentityProvidersController } from './social-identity-providers.controller';
import { SocialIdentityProvidersService } from './social-identity-providers.service';

@Module({
  imports: [GroupsModule, JitConfigurationModule],
  controllers: [IdentityProvidersController, SocialIdentityProvidersController],
  providers: [
    IdentityProvidersService,
    IdentityProviderImpact,
    DormantUsersJob,
    SocialIdentityProvidersService,
    MetadataRefreshService,
    { provide: METADATA_REFRESH_OPTIONS, useFactory: () => metadataRefreshOptionsFromEnv() },
  ],
  exports: [IdentityProvidersService, DormantUsersJob],
})
export class IdentityProvidersModule {
  constructor(registry: ScimRegistry, references: GroupReferences, idps: IdentityProvidersService) {
    registry.register(IDENTITY_PROVIDER_RESOURCE_TYPE);
    // The SOCIAL identity providers again, as IDCS also serves them (a view of the same rows).
    registry.register(SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE);
    // Deleting a group that a JIT mapping points at is refused, or cleans the mapping up with forceDelete
    // (for a caller who may change identity providers).
    references.register({
      referencesTo: async (m, groupId) => (await idps.referencesTo(m, groupId)).map((r) => `identity provider "${r.row.partnerName}" (${r.where.join(', ')})`),
      removeReferencesTo: (m, groupId, actor) => idps.removeGroupReferences(m, groupId, actor),
    });
  }
}
