// The contributed settings (package.json `contributes.configuration`), read in one place.
import * as vscode from 'vscode'
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

export function readSettings(): TonkSettings {
  const c = vscode.workspace.getConfiguration('tonk')
  return {
    dataDir: c.get<string>('dataDir', '').trim(),
    peerName: c.get<string>('peerName', '').trim(),
    relays: c.get<boolean>('relays', false),
    discovery: {
      mdns: c.get<boolean>('discovery.mdns', true),
      exchange: c.get<boolean>('discovery.exchange', true),
      dht: c.get<boolean>('discovery.dht', false),
      dhtBootstrap: c.get<string[]>('discovery.dhtBootstrap', []),
    },
    bridge: c.get<string>('bridge', '').trim(),
    maxFrameBytes: c.get<number>('maxFrameBytes', 16 * 1024 * 1024),
    logLevel: c.get<LogLevel>('logLevel', 'info'),
  }
}
