// The parts of bittorrent-dht 11 (no bundled types) that src/core/discovery/dht.ts uses.
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'

  export interface DhtPeer {
    host: string
    port: number
  }

  export interface DhtOptions {
    /** false: start alone; a list of `host:port`; undefined would mean the public routers. */
    bootstrap: false | string[]
    verify?: (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean
    /** Per-query timeout of the underlying k-rpc socket, ms. */
    timeout?: number
  }

  export interface MutablePutOptions {
    k: Buffer
    v: Buffer
    seq: number
    salt?: Buffer
    sign: (message: Buffer) => Buffer
  }

  export interface GetResult {
    v: Buffer
    k?: Buffer
    seq?: number
    sig?: Buffer
    salt?: Buffer
  }

  export default class DHT extends EventEmitter {
    constructor(options: DhtOptions)
    readonly nodeId: Buffer
    readonly listening: boolean
    listen(port?: number, address?: string, onlistening?: () => void): void
    address(): { address: string; family: string; port: number }
    announce(infoHash: Buffer, port: number, cb?: (err: Error | null) => void): void
    lookup(infoHash: Buffer, cb?: (err: Error | null, visited?: number) => void): () => void
    put(options: MutablePutOptions, cb?: (err: Error | null, hash?: Buffer, visited?: number) => void): Buffer
    get(target: Buffer, options: { salt?: Buffer; cache?: boolean }, cb: (err: Error | null, result: GetResult | null) => void): void
    toJSON(): { nodes: DhtPeer[] }
    destroy(cb?: () => void): void
  }
}
