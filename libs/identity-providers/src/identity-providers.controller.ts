import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access, AuthenticatedRequest, RequireAccess } from '@app/auth';
import { actorOf } from '@app/jit';
import { Doc, parseListQuery, parseProjection, ScimApi, setResourceHeaders } from '@app/scim';
import { IDENTITY_PROVIDER_EXAMPLE } from './identity-provider.schema';
import { IdentityProvidersService } from './identity-providers.service';
import { IdentityProviderImpact, impactPageOf } from './jit-impact-request';
import { DormantUsersJob, dormantUsersRequestOf } from './dormant-users-job';
import type { DormantUsersReport, JitImpactReport } from '@app/jit';

type QueryParams = Record<string, unknown>;

const DORMANT_USERS_REPORT_SCHEMA = {
  type: 'object',
  properties: {
    schemas: { type: 'array', items: { type: 'string' }, example: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'] },
    dryRun: { type: 'boolean', description: 'Whether nothing was changed' },
    totalResults: { type: 'integer', description: 'Users the policy acted on (or would act on)' },
    startIndex: { type: 'integer' },
    itemsPerPage: { type: 'integer' },
    Resources: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'User id' },
          userName: { type: 'string' },
          lastSuccessfulLoginDate: { type: 'string', format: 'date-time', description: 'Absent when the user never signed in' },
          action: { type: 'string', enum: ['deactivate', 'delete'] },
          inactiveDays: { type: 'integer', description: 'Days since the last sign-in (or creation); for a deletion, since the deactivation' },
          deactivatedAt: { type: 'string', format: 'date-time', description: 'When the policy deactivated the user (deletions)' },
        },
      },
    },
  },
  example: {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    dryRun: true,
    totalResults: 1,
    startIndex: 1,
    itemsPerPage: 1,
    Resources: [{ id: '9f1c2b3a4d5e6f708192a3b4c5d6e7f8', userName: 'contractor@example.com', lastSuccessfulLoginDate: '2026-06-01T09:15:00.000Z', action: 'deactivate', inactiveDays: 178 }],
  },
};

/** IDCS /admin/v1/IdentityProviders (SAML identity providers and their JIT settings). */
@ApiTags('IdentityProviders')
@RequireAccess(Access.identityProviders)
@Controller('admin/v1/IdentityProviders')
export class IdentityProvidersController {
  constructor(
    private readonly idps: IdentityProvidersService,
    private readonly impact: IdentityProviderImpact,
    private readonly dormant: DormantUsersJob,
  ) {}

  @Get()
  @ScimApi.list('IdentityProvider')
  list(@Query() q: QueryParams): Promise<Doc> {
    return this.idps.list(parseListQuery(q));
  }

  @Post('.search')
  @ScimApi.search('IdentityProvider')
  search(@Body() body: QueryParams): Promise<Doc> {
    return this.idps.list(parseListQuery(body ?? {}, true));
  }

  @Get(':id')
  @ScimApi.get('IdentityProvider')
  async get(@Param('id') id: string, @Query() q: QueryParams, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.get(id, parseProjection(q));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Post()
  @ScimApi.create('IdentityProvider', IDENTITY_PROVIDER_EXAMPLE)
  async create(@Body() body: unknown, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.create(body, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version, r.location);
    return r.body;
  }

  @Put(':id')
  @ScimApi.replace('IdentityProvider', IDENTITY_PROVIDER_EXAMPLE)
  async replace(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.replace(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Patch(':id')
  @ScimApi.patch('IdentityProvider', {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'jitUserProvGroupAssignmentMethod', value: 'Overwrite' }],
  })
  async patch(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.patch(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Post(':id/jitPreview')
  @RequireAccess(Access.identityProviderPreview) // writes nothing, so the Auditor may use it too
  @HttpCode(200)
  @ApiOperation({
    summary: 'Preview what JIT would do at sign-in (writes nothing)',
    description:
      'Give a NameID and assertion attributes, or an assertion XML (its signature is not checked here), or for a SOCIAL (OpenID Connect) IdP the claims of the ID token and UserInfo. The answer says which user would be matched, created or why the sign-in would be refused, each attribute change (old → new), and the groups joined, left and skipped. Nothing is written, so IdentityDomainAdministrator, SecurityAdministrator and Auditor may call it.',
  })
  @ApiParam({ name: 'id', description: 'IdentityProvider id' })
  @ApiBody({
    description: 'Either nameId (+ nameIdFormat, attributes), or assertion, or (SOCIAL IdPs) claims',
    schema: {
      type: 'object',
      properties: {
        nameId: { type: 'string', description: 'The NameID the IdP would assert', example: 'jdoe@example.com' },
        nameIdFormat: { type: 'string', description: 'Its Format (a transient NameID never creates a user)', example: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' },
        attributes: {
          type: 'object',
          description: 'Assertion attributes by Name: one value, or several AttributeValues',
          additionalProperties: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          example: { firstName: 'Jane', familyName: 'Doe', email: 'jdoe@example.com', groups: 'Administrators, Admins' },
        },
        assertion: { type: 'string', description: 'Alternatively, a saml:Assertion (or a Response holding one) as XML; its signature is not checked and a DOCTYPE is refused' },
        claims: {
          type: 'object',
          description:
            'SOCIAL (OpenID Connect) IdPs: the claims a sign-in would read (ID token merged with UserInfo), with sub. Read by $(assertion.<claim>), nested ones by a dotted path; the user is found by the subject\'s link first, and linked only as accountLinkingEnabled and email_verified allow',
          additionalProperties: true,
          example: { sub: '00u1abcd', email: 'jdoe@example.com', email_verified: true, given_name: 'Jane', family_name: 'Doe', groups: ['Admins'] },
        },
      },
    },
  })
  @ApiResponse({
    status: 200,
    description:
      'What a sign-in would do. outcome is create, update, signIn (found, JIT leaves the user unchanged) or reject (with reason and detail; also when sign-in cannot use what the IdP stores: unsupported_idp_type, unsupported_name_id_format, unsupported_user_mapping). matchedUser is the user found (null when none); newUser the user a create would store; attributeChanges each mapped attribute that would change (oldValue → newValue); groupsJoined / groupsLeft the memberships that would change; groupsSkipped the asserted or static groups that do not resolve.',
    schema: {
      type: 'object',
      properties: {
        outcome: { type: 'string', enum: ['create', 'update', 'signIn', 'reject'] },
        reason: { type: 'string', description: 'Reject reason code (reject only)', example: 'absent_group' },
        detail: { type: 'string', description: 'Why (reject only)' },
        matchedUser: { type: 'object', nullable: true, properties: { id: { type: 'string' }, userName: { type: 'string' } } },
        newUser: { type: 'object', description: 'The SCIM User a create would store' },
        attributeChanges: { type: 'array', items: { type: 'object', properties: { attribute: { type: 'string' }, oldValue: {}, newValue: {} } } },
        groupsJoined: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, display: { type: 'string' } } } },
        groupsLeft: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, display: { type: 'string' } } } },
        groupsSkipped: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, source: { type: 'string', enum: ['assertion', 'static'] }, why: { type: 'string' } } } },
      },
      example: {
        matchedUser: { id: '9f1c2b3a4d5e6f708192a3b4c5d6e7f8', userName: 'jdoe@example.com' },
        outcome: 'update',
        attributeChanges: [{ attribute: 'name.givenName', oldValue: 'Jane', newValue: 'Janet' }],
        groupsJoined: [{ value: '4bce9b677ab447f18b65ba7bf9a61c21', display: 'OCI Admins' }],
        groupsLeft: [{ value: '0d2a5f9e1c7b4e3aa8b6c4d2e0f1a3b5', display: 'OCI Administrators' }],
        groupsSkipped: [{ value: 'Ghosts', source: 'assertion', why: 'no jitUserProvGroupMappings entry for it' }],
      },
    },
  })
  @ApiResponse({ status: 400, description: 'Bad preview input', content: { 'application/scim+json': { schema: { $ref: '#/components/schemas/ScimError' } } } })
  @ApiResponse({ status: 404, description: 'No such identity provider' })
  jitPreview(@Param('id') id: string, @Body() body: unknown): Promise<Doc> {
    return this.idps.jitPreview(id, body);
  }

  @Post(':id/jitImpact')
  @RequireAccess(Access.identityProviderPreview) // writes nothing, so the Auditor may use it too
  @HttpCode(200)
  @ApiOperation({
    summary: 'Change-impact report: whose users a proposed JIT change would affect at their next sign-in (writes nothing)',
    description:
      'Give the change as a SCIM PATCH body for this identity provider ("identityProvider") and/or for its MappedAttribute ("mappedAttribute"); it is validated as the PATCH itself would be. ' +
      'For every user whose last verified sign-in inputs through this IdP are kept (only the assertion values or claims its mappings, group rule, lookup and gate read; see the JIT policy extension\'s signInInputRetentionDays), ' +
      'the JIT planner plans the next sign-in under the current and the proposed configuration. The answer counts the users that would end differently and lists them page by page (startIndex, count): ' +
      'outcome under each, attributes whose value would differ, groups gained and lost. A mapping that reads an attribute no current rule reads sees it absent, as its value was not kept.',
  })
  @ApiParam({ name: 'id', description: 'IdentityProvider id' })
  @ApiQuery({ name: 'startIndex', required: false, type: Number, description: '1-based index of the first affected user to list (default 1)' })
  @ApiQuery({ name: 'count', required: false, type: Number, description: 'Affected users to list (default 50, at most 500)' })
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        identityProvider: { type: 'object', description: 'A SCIM PatchOp body for the identity provider' },
        mappedAttribute: { type: 'object', description: 'A SCIM PatchOp body for its MappedAttribute' },
      },
      example: { identityProvider: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'jitUserProvGroupAssignmentMethod', value: 'Overwrite' }] } },
    },
  })
  @ApiResponse({
    status: 200,
    description: 'The report',
    schema: {
      type: 'object',
      properties: {
        usersWithInputs: { type: 'integer', description: 'Users whose last sign-in inputs are kept' },
        affectedUsers: { type: 'integer', description: 'Of those, the users whose next sign-in would end differently' },
        startIndex: { type: 'integer' },
        itemsPerPage: { type: 'integer' },
        Resources: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              user: { type: 'object', properties: { id: { type: 'string' }, userName: { type: 'string' } } },
              lastSignIn: { type: 'string', format: 'date-time' },
              current: { type: 'object', properties: { outcome: { type: 'string', enum: ['signIn', 'update', 'reject'] }, reason: { type: 'string' } } },
              proposed: { type: 'object', properties: { outcome: { type: 'string', enum: ['signIn', 'update', 'reject'] }, reason: { type: 'string' } } },
              attributes: { type: 'array', items: { type: 'object', properties: { attribute: { type: 'string' }, current: {}, proposed: {} } } },
              groupsGained: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, display: { type: 'string' } } } },
              groupsLost: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, display: { type: 'string' } } } },
            },
          },
        },
      },
    },
  })
  @ApiResponse({ status: 400, description: 'The proposed change is invalid', content: { 'application/scim+json': { schema: { $ref: '#/components/schemas/ScimError' } } } })
  @ApiResponse({ status: 404, description: 'No such identity provider' })
  jitImpact(@Param('id') id: string, @Body() body: unknown, @Query() q: QueryParams): Promise<JitImpactReport> {
    return this.impact.report(id, body, impactPageOf(q));
  }

  @Get(':id/dormantUsers')
  @ApiOperation({
    summary: 'Dormant JIT users: the users this IdP\'s dormant-user policy would deactivate or delete now (a dry run: writes nothing)',
    description:
      'The policy is the JIT policy extension\'s dormantUserDeactivateAfterDays, dormantUserDeleteAfterDays and dormantUserScope. Lists, as a SCIM ListResponse, each user the policy would act on if it ran now: ' +
      'id, userName, lastSuccessfulLoginDate (absent when the user never signed in: its days count from its creation), action (deactivate or delete), inactiveDays, and for deletions deactivatedAt. 409 when the IdP has no policy.',
  })
  @ApiParam({ name: 'id', description: 'IdentityProvider id' })
  @ApiQuery({ name: 'startIndex', required: false, type: Number, description: '1-based index of the first user to list (default 1)' })
  @ApiQuery({ name: 'count', required: false, type: Number, description: 'Users to list (default 100, at most 500); totalResults counts them all' })
  @ApiResponse({ status: 200, description: 'The users the policy would act on', schema: DORMANT_USERS_REPORT_SCHEMA })
  @ApiResponse({ status: 404, description: 'No such identity provider' })
  @ApiResponse({ status: 409, description: 'The identity provider has no dormant-user policy' })
  dormantUsersDryRun(@Param('id') id: string, @Query() q: QueryParams, @Req() req: AuthenticatedRequest): Promise<DormantUsersReport> {
    return this.dormant.runFor(id, dormantUsersRequestOf(undefined, q, true), actorOf(req));
  }

  @Post(':id/dormantUsers')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Dormant JIT users: apply this IdP\'s dormant-user policy now, or (dryRun, the default) list whom it would act on',
    description:
      'The server applies every policy on a schedule (hourly by default, JIT_DORMANT_USERS_INTERVAL_SECONDS; one instance per interval). This runs this IdP\'s policy now: with {"dryRun": false} it deactivates (active=false, sessions ended) and deletes the users listed, ' +
      'each through the users\' normal write path, conditional on the version read (a user changed meanwhile is left alone), with one audit event per user (jit.dormantUser.deactivated / jit.dormantUser.deleted, naming the reason and this request\'s administrator). ' +
      'Without dryRun, or with true, it changes nothing, as GET does.',
  })
  @ApiParam({ name: 'id', description: 'IdentityProvider id' })
  @ApiQuery({ name: 'startIndex', required: false, type: Number, description: '1-based index of the first user to list (default 1)' })
  @ApiQuery({ name: 'count', required: false, type: Number, description: 'Users to list (default 100, at most 500); totalResults counts them all' })
  @ApiBody({
    schema: {
      type: 'object',
      properties: { dryRun: { type: 'boolean', description: 'true (the default): list only; false: act now', example: true } },
      example: { dryRun: true },
    },
  })
  @ApiResponse({ status: 200, description: 'The users the policy acted on (or, dry, would act on)', schema: DORMANT_USERS_REPORT_SCHEMA })
  @ApiResponse({ status: 400, description: 'Bad dryRun, startIndex or count', content: { 'application/scim+json': { schema: { $ref: '#/components/schemas/ScimError' } } } })
  @ApiResponse({ status: 404, description: 'No such identity provider' })
  @ApiResponse({ status: 409, description: 'The identity provider has no dormant-user policy' })
  dormantUsers(@Param('id') id: string, @Body() body: unknown, @Query() q: QueryParams, @Req() req: AuthenticatedRequest): Promise<DormantUsersReport> {
    return this.dormant.runFor(id, dormantUsersRequestOf(body, q, false), actorOf(req));
  }

  @Delete(':id')
  @ScimApi.delete('IdentityProvider')
  @ApiQuery({ name: 'forceDelete', required: false, type: Boolean, description: 'Accepted for IDCS compatibility; the IdP and its MappedAttribute are always deleted together' })
  delete(@Param('id') id: string, @Headers('if-match') ifMatch: string | undefined, @Req() req: AuthenticatedRequest): Promise<void> {
    return this.idps.delete(id, ifMatch, actorOf(req));
  }
}
