// The contributed settings (package.json `contributes.configuration`), read in one place.
//
// A repository's .vscode/settings.json is written by whoever wrote the repository. The settings that
// decide where documents go (bridge, dataDir), what is announced or published (mDNS, peer exchange,
// DHT, relays) and how much a peer may send (maxFrameBytes) are "scope": "machine" in package.json, so
// VS Code does not take them from a workspace; they are also read here from user (and remote) settings
// and defaults only, so no code path picks up a workspace value even if a VS Code version or a fork
// did report one. peerName and logLevel may come from a workspace.
import * as vscode from 'vscode'
import type { SessionOptions } from '../core/session/session'
import type { LogLevel } from './log'

export interface TonkSettings {
  /** Empty: the extension's global storage. */
  dataDir: string
  peerName: string
  relays: boolean
  discovery: { mdns: boolean; exchange: boolean; dht: boolean; dhtBootstrap: string[] }
  bridge: string
  maxFrameBytes: number
  logLevel: LogLevel
}

/** Keys (under `tonk.`) that only user or remote settings set; package.json lists the same as restrictedConfigurations. */
export const USER_ONLY_SETTINGS = [
  'dataDir',
  'relays',
  'discovery.mdns',
  'discovery.exchange',
  'discovery.dht',
  'discovery.dhtBootstrap',
  'bridge',
  'maxFrameBytes',
] as const

export function readSettings(): TonkSettings {
  const c = vscode.workspace.getConfiguration('tonk')
  return {
    dataDir: userValue(c, 'dataDir', '').trim(),
    peerName: c.get<string>('peerName', '').trim(),
    relays: userValue(c, 'relays', false),
    discovery: {
      mdns: userValue(c, 'discovery.mdns', true),
      exchange: userValue(c, 'discovery.exchange', true),
      dht: userValue(c, 'discovery.dht', false),
      dhtBootstrap: userValue<string[]>(c, 'discovery.dhtBootstrap', []).filter((s) => typeof s === 'string'),
    },
    bridge: userValue(c, 'bridge', '').trim(),
    maxFrameBytes: userValue(c, 'maxFrameBytes', 16 * 1024 * 1024),
    logLevel: c.get<LogLevel>('logLevel', 'info'),
  }
}

/**
 * User-only settings that a workspace or folder settings file tries to set (ignored; the session start
 * logs them). VS Code 1.100 already drops machine-scoped workspace values, so this is empty there; it
 * names them wherever one is reported (checked with the scope removed from package.json).
 */
export function ignoredWorkspaceSettings(): string[] {
  const c = vscode.workspace.getConfiguration('tonk')
  return USER_ONLY_SETTINGS.filter((key) => {
    const i = c.inspect(key)
    return i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined
  }).map((key) => `tonk.${key}`)
}

/** The user's (global or remote) value, else the default; never a workspace or folder value. */
function userValue<T>(c: vscode.WorkspaceConfiguration, key: (typeof USER_ONLY_SETTINGS)[number], fallback: T): T {
  const i = c.inspect<T>(key)
  const value = i?.globalValue ?? i?.defaultValue
  // A hand-edited settings.json may hold any JSON: a value of the wrong type counts as unset.
  if (value === undefined || value === null || typeof value !== typeof fallback || Array.isArray(value) !== Array.isArray(fallback)) return fallback
  return value
}

/**
 * The discovery and bridge settings as SessionOptions. tonk.discovery.dhtBootstrap empty with the DHT on
 * means the public BitTorrent routers (the setting's documented meaning); a list joins through it.
 */
export function discoveryOptions(settings: ReturnType<typeof readSettings>): Pick<SessionOptions, 'discovery' | 'bridge'> {
  const { mdns, exchange, dht, dhtBootstrap } = settings.discovery
  return {
    discovery: { mdns, exchange, dht: dht ? (dhtBootstrap.length ? { bootstrap: dhtBootstrap } : true) : false },
    ...(settings.bridge ? { bridge: settings.bridge } : {}),
  }
}
