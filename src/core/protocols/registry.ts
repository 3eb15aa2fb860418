// Every protocol we speak over extension frames, in one place: the feature name hellos list, the frame
// types (all `tonk/…`), and the version. The wire carries no version number: the feature name is the
// contract, so a frame change that older peers cannot read takes a new feature name (e.g. 'pex/2'),
// listed next to the old one for as long as both are spoken. Bump `version` with such a name.
// Automerge-repo's own messages are not here: they are the sync protocol itself (ALPN tonk/sync/2).
import { DIGEST_FEATURE, DIGEST_FRAME } from '../net/ephemeral-relay'
import type { ExtensionProtocol } from '../net/extension-channel'

/** Peer exchange (pex/exchange.ts). */
export const PEX = {
  feature: 'pex',
  version: 1,
  frames: { peers: 'tonk/pex' },
} as const satisfies ExtensionProtocol

/** Bulk catch-up (bulk/). */
export const BULK = {
  feature: 'bulk',
  version: 1,
  frames: { want: 'tonk/bulk-want', docs: 'tonk/bulk-docs' },
} as const satisfies ExtensionProtocol

/**
 * Link reports (links/reports.ts): which peers each peer is connected to, for the mesh view; and a
 * ping through our framing (so a link fault's delay shows in the round trip sync sees).
 */
export const LINKS = {
  feature: 'links',
  version: 1,
  frames: { links: 'tonk/links', ping: 'tonk/links-ping', pong: 'tonk/links-pong' },
} as const satisfies ExtensionProtocol

/**
 * Actor claims (actors/actor-claims.ts): which Automerge actors a peer writes with, asked for the actors
 * of a document's history so it can name the peer behind each change.
 */
export const ACTORS = {
  feature: 'actors',
  version: 1,
  frames: { ask: 'tonk/actors-ask', mine: 'tonk/actors-mine' },
} as const satisfies ExtensionProtocol

/**
 * Presence heartbeat digests (net/ephemeral-relay.ts): other peers' heartbeats passed on in one frame
 * per peer and period. Spoken by the adapter itself (it replays them into the Repo), not a channel user.
 */
export const PRESENCE_DIGEST = {
  feature: DIGEST_FEATURE,
  version: 1,
  frames: { digest: DIGEST_FRAME },
} as const satisfies ExtensionProtocol

/**
 * Hello-only features: flags with no frames of their own. 'bulk-empty' is listed next to 'bulk' by a
 * peer that holds no documents yet (a new data dir), until its first docs frame: peers push everything
 * to it at once instead of waiting for its want.
 */
export const HELLO_FLAGS = { bulkEmpty: 'bulk-empty' } as const

export const EXTENSION_PROTOCOLS: readonly ExtensionProtocol[] = [PEX, BULK, LINKS, ACTORS, PRESENCE_DIGEST]
