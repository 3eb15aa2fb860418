// Automerge heads are a set: the same hashes in any order name the same state.
export const sameHeads = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((h) => b.includes(h))
