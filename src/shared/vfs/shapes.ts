// The keepsync directory model: one Automerge document per directory. A directory document holds its
// children by name; each child points at another document (a file-like doc or a sub-directory doc).
// Children are a map keyed by name rather than keepsync's array, so two peers that create the same name
// concurrently converge on one entry (last writer wins) instead of a duplicate.
// Types only: the host and the preview's in-page repo both read these shapes.
import type { AutomergeUrl } from '@automerge/automerge-repo/slim'
export interface Timestamps {
  created: number
  modified: number
}

export interface DirEntry {
  type: 'doc' | 'dir'
  pointer: AutomergeUrl
  timestamps: Timestamps
}

export interface DirectoryDoc {
  type: 'dir'
  name: string
  timestamps: Timestamps
  children: Record<string, DirEntry>
}

