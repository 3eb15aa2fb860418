// .tonkignore: a deliberately small gitignore subset, so its meaning fits in one paragraph of the docs.
//   name        any file or folder called `name`, at any depth
//   dir/        folders only
//   *.ext  a?c  `*` is any run of characters but "/", `?` one character
//   /anchored   relative to the bundle folder (any "/" before the end anchors, as in git)
//   # comment   and blank lines are skipped
// Refused with E_IGNORE_SYNTAX, rather than silently misread: `!negation`, `**`, `[classes]`, `\` escapes.
import { BundleError } from './errors'

/** Always skipped by pack: the manifest itself, dependency and VCS folders, zips (earlier packs), Finder litter. */
export const DEFAULT_IGNORES = ['/tonk.json', '/.tonkignore', 'node_modules/', '.git', '.vscode/', '*.zip', '.DS_Store']

interface Rule {
  regex: RegExp
  anchored: boolean
  dirOnly: boolean
}

/** Whether a folder entry (path relative to the bundle folder, "/"-separated, no leading slash) is ignored. */
export type IgnoreMatcher = (relativePath: string, isDirectory: boolean) => boolean

/** Builds a matcher; `source` names where the patterns came from, for error messages. */
export function createIgnoreMatcher(patterns: readonly string[], source: string): IgnoreMatcher {
  const rules = patterns.flatMap((line, i) => {
    const rule = parseRule(line, `${source}:${i + 1}`)
    return rule ? [rule] : []
  })
  return (relativePath, isDirectory) => {
    const name = relativePath.slice(relativePath.lastIndexOf('/') + 1)
    return rules.some((r) => (!r.dirOnly || isDirectory) && r.regex.test(r.anchored ? relativePath : name))
  }
}

/** Lines of a .tonkignore file. */
export const ignoreFileLines = (text: string) => text.split(/\r?\n/)

function parseRule(line: string, where: string): Rule | undefined {
  const pattern = line.trimEnd()
  if (pattern === '' || pattern.startsWith('#')) return undefined
  const unsupported =
    pattern.startsWith('!') ? '"!" negation' : pattern.includes('**') ? '"**"' : /[[\]\\]/.test(pattern) ? '"[", "]" or "\\"' : undefined
  if (unsupported) {
    throw new BundleError('E_IGNORE_SYNTAX', `${where}: ${JSON.stringify(pattern)} uses ${unsupported}, which .tonkignore does not support`)
  }
  let body = pattern
  const dirOnly = body.endsWith('/')
  if (dirOnly) body = body.slice(0, -1)
  const anchored = body.includes('/')
  if (body.startsWith('/')) body = body.slice(1)
  if (body === '') throw new BundleError('E_IGNORE_SYNTAX', `${where}: ${JSON.stringify(pattern)} matches nothing`)
  const source = body
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|]/g, '\\$&')))
    .join('')
  return { regex: new RegExp(`^${source}$`), anchored, dirOnly }
}
