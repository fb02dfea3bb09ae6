import { InitialSchema1732300000000 } from './1732300000000-initial-schema';
import { IdentityProviders1732400000000 } from './1732400000000-identity-providers';

/** Every migration, in order. New schema changes are appended here, never edited in place. */
export const MIGRATIONS = [InitialSchema1732300000000, IdentityProviders1732400000000];
