// A document's bytes as a function of its state alone. Automerge.save keeps changes in the order the
// document received them, so two peers holding the same changes (merged in different orders) save
// different bytes. Re-applying the changes in one canonical order — dependencies first, ties broken by
// change hash — to a fresh document makes the save identical for equal state.
import { createHash } from 'node:crypto'
import { Automerge } from '@automerge/automerge-repo/slim'
import { compareUtf8 } from '../bundle/paths'

/**
 * A change's hash without decoding it: an Automerge chunk is magic (4 bytes), checksum (4), then
 * type, length and body, and the change hash is the SHA-256 of everything after the checksum.
 */
const changeHash = (change: Uint8Array) => createHash('sha256').update(change.subarray(8)).digest('hex')

export function canonicalSave(doc: Automerge.Doc<unknown>): Uint8Array {
  const changes = Automerge.getAllChanges(doc)
  const byHash = new Map(changes.map((c) => [changeHash(c), c]))
  const deps = new Map(Automerge.getChangesMetaSince(doc, []).map((m) => [m.hash, m.deps.filter((d) => byHash.has(d))]))
  const order = canonicalOrder([...byHash.keys()], (hash) => deps.get(hash) ?? [])
  // Already in canonical order (one writer, or merged the canonical way): save as it is.
  if (order.every((hash, i) => byHash.get(hash) === changes[i])) return Automerge.save(doc)
  const [rebuilt] = Automerge.applyChanges(Automerge.init(), order.map((hash) => byHash.get(hash)!))
  return Automerge.save(rebuilt)
}

/** Kahn's topological order; among the changes ready at each step, the smallest hash goes first. */
function canonicalOrder(hashes: readonly string[], depsOf: (hash: string) => readonly string[]): string[] {
  const waiting = new Map<string, number>()
  const dependents = new Map<string, string[]>()
  for (const hash of hashes) {
    const deps = depsOf(hash)
    waiting.set(hash, deps.length)
    for (const dep of deps) dependents.set(dep, [...(dependents.get(dep) ?? []), hash])
  }
  const ready = hashes.filter((h) => waiting.get(h) === 0).sort(compareUtf8)
  const order: string[] = []
  while (ready.length > 0) {
    const next = ready.shift()!
    order.push(next)
    for (const child of dependents.get(next) ?? []) {
      const left = waiting.get(child)! - 1
      waiting.set(child, left)
      if (left === 0) ready.splice(sortedIndex(ready, child), 0, child)
    }
  }
  return order
}

function sortedIndex(list: readonly string[], value: string): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareUtf8(list[mid]!, value) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
