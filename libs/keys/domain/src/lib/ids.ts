import { randomBase62 } from './base62';

export type IdKind = 'org' | 'key' | 'agt' | 'dev';

/** Opaque, prefixed ids (`org_…`): 22 base62 characters, about 131 random bits. */
export function newId(kind: IdKind): string {
  return `${kind}_${randomBase62(22)}`;
}
