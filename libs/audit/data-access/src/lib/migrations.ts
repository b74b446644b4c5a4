import type { MigrationSet } from '@keyledger/event-store';
import * as auditChain from './migrations/2026_11_22_0001_audit_chain';
import * as attestations from './migrations/2026_11_22_0002_attestations';
import * as auditVerification from './migrations/2026_11_22_0003_audit_verification';
import * as eventsRoomForChainHashes from './migrations/2026_11_22_0004_events_room_for_chain_hashes';
import * as eventsChainOnceTrigger from './migrations/2026_11_22_0005_events_chain_once_trigger';
import * as auditChainLinks from './migrations/2026_11_22_0006_audit_chain_links';
import * as eventsOneGuard from './migrations/2026_11_22_0007_events_one_guard';

/** audit-attestation's own tables, with their own migration history. */
export const auditMigrations: MigrationSet = {
  name: 'audit',
  migrations: {
    '2026_11_22_0001_audit_chain': auditChain,
    '2026_11_22_0002_attestations': attestations,
    '2026_11_22_0003_audit_verification': auditVerification,
    '2026_11_22_0004_events_room_for_chain_hashes': eventsRoomForChainHashes,
    '2026_11_22_0005_events_chain_once_trigger': eventsChainOnceTrigger,
    '2026_11_22_0006_audit_chain_links': auditChainLinks,
    '2026_11_22_0007_events_one_guard': eventsOneGuard,
  },
};
