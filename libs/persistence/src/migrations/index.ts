import { InitialSchema1732300000000 } from './1732300000000-initial-schema';

/** Every migration, in order. New schema changes are appended here, never edited in place. */
export const MIGRATIONS = [InitialSchema1732300000000];
