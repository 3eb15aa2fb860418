// .tonkignore: gitignore semantics, by the `ignore` package (the matcher behind eslint, prettier and
// node-glob's gitignore support). Chosen over a hand-written subset because users write .gitignore lines
// (`!keep.js`, `**/tmp`, `*.[ao]`) and expect them to mean what git means; `ignore` follows git's own
// test cases, has no dependencies and bundles into the extension and the CLI with esbuild.
// Two choices of ours on top:
//   - case-sensitive (`ignorecase: false`), as git on Linux and as the earlier subset, so a pack is the same
//     on every machine;
//   - each source (defaults, .tonkignore, PackOptions.ignore) is its own matcher and any one of them skips a
//     path, so a `!` line in .tonkignore cannot bring back node_modules/ or .git.
// A line that can match nothing ("/", "!") is refused with E_IGNORE_SYNTAX rather than silently dropped.
import ignore from 'ignore'
import { BundleError } from './errors'

/** Always skipped by pack: the manifest itself, dependency and VCS folders, zips (earlier packs), Finder litter. */
export const DEFAULT_IGNORES = ['/tonk.json', '/.tonkignore', 'node_modules/', '.git', '.vscode/', '*.zip', '.DS_Store']

/** Whether a folder entry (path relative to the bundle folder, "/"-separated, no leading slash) is ignored. */
export type IgnoreMatcher = (relativePath: string, isDirectory: boolean) => boolean

/** Builds a matcher; `source` names where the patterns came from, for error messages. */
export function createIgnoreMatcher(patterns: readonly string[], source: string): IgnoreMatcher {
  patterns.forEach((line, i) => {
    if (/^!?\/*$/.test(line.trim()) && line.trim() !== '') {
      throw new BundleError('E_IGNORE_SYNTAX', `${source}:${i + 1}: ${JSON.stringify(line.trimEnd())} matches nothing`)
    }
  })
  const matcher = ignore({ ignorecase: false }).add([...patterns])
  // `ignore` tells a folder from a file by a trailing "/" (what makes "dir/" patterns folder-only).
  return (relativePath, isDirectory) => matcher.ignores(isDirectory ? `${relativePath}/` : relativePath)
}

/** Lines of a .tonkignore file. */
export const ignoreFileLines = (text: string) => text.split(/\r?\n/)
