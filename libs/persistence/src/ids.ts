import { randomUUID } from 'node:crypto';

/** Resource ids: 32 lower-case hex characters, the shape IDCS uses. */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

export function nowIso(): string {
  return new Date().toISOString();
}
