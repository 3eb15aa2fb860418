// Which iroh native module this machine needs, and whether iroh publishes one. Pure data and a libc
// probe: nothing here loads the binding (net/iroh.ts does, on first use), so callers can ask cheaply.
// The npm registry carries @number0/iroh 1.1.0 builds for three targets only (`npm view
// @number0/iroh-<key>@1.1.0`; the others 404), and scripts/package-vsix.ts makes one VSIX for each.
import { readFileSync } from 'node:fs'

/** napi-rs names of iroh's native packages (`@number0/iroh-<key>`, file `iroh.<key>.node`). */
export interface NativeTarget {
  /** e.g. `linux-x64-gnu`; undefined when iroh has no target for this OS/CPU at all. */
  key: string | undefined
  /** For people: "Linux x64", "Windows x64". */
  label: string
  /** True when the registry has a build for it (so a VSIX or an npm install can carry it). */
  published: boolean
  /** The VS Code target of the VSIX that carries it, when published (e.g. `linux-x64`). */
  vscodeTarget?: string
}

/** VS Code's platform-specific VSIX targets that iroh publishes a build for, with the build's key. */
export const PUBLISHED_TARGETS = [
  { vscodeTarget: 'darwin-arm64', key: 'darwin-arm64', label: 'macOS on Apple silicon' },
  { vscodeTarget: 'linux-x64', key: 'linux-x64-gnu', label: 'Linux x64' },
  { vscodeTarget: 'alpine-x64', key: 'linux-x64-musl', label: 'Alpine Linux x64' },
] as const

const LABELS: Record<string, string> = {
  'darwin-x64': 'macOS on Intel',
  'linux-x64-gnu': 'Linux x64',
  'linux-x64-musl': 'Alpine Linux x64',
  'linux-arm64-gnu': 'Linux arm64',
  'linux-arm64-musl': 'Alpine Linux arm64',
  'linux-arm-gnueabihf': 'Linux armhf',
  'linux-arm-musleabihf': 'Alpine Linux armhf',
  'win32-x64-msvc': 'Windows x64',
  'win32-arm64-msvc': 'Windows arm64',
  'android-arm64': 'Android arm64',
  'android-arm-eabi': 'Android arm',
  'darwin-arm64': 'macOS on Apple silicon',
}

/** The napi key the binding's own loader would pick (node_modules/@number0/iroh/index.js). */
export function nativeKey(platform: string, arch: string, musl: boolean): string | undefined {
  const libc = musl ? 'musl' : 'gnu'
  switch (`${platform}-${arch}`) {
    case 'darwin-arm64':
    case 'darwin-x64':
    case 'android-arm64':
      return `${platform}-${arch}`
    case 'android-arm':
      return 'android-arm-eabi'
    case 'win32-x64':
    case 'win32-arm64':
      return `${platform}-${arch}-msvc`
    case 'linux-x64':
    case 'linux-arm64':
      return `${platform}-${arch}-${libc}`
    case 'linux-arm':
      return `linux-arm-${libc}eabihf`
    default:
      return undefined
  }
}

export function nativeTarget(platform: string = process.platform, arch: string = process.arch, musl: boolean = platform === 'linux' && isMusl()): NativeTarget {
  const key = nativeKey(platform, arch, musl)
  const published = PUBLISHED_TARGETS.find((t) => t.key === key)
  return {
    key,
    label: (key && LABELS[key]) ?? `${platform} ${arch}`,
    published: !!published,
    ...(published && { vscodeTarget: published.vscodeTarget }),
  }
}

/** "macOS on Apple silicon, Linux x64 and Alpine Linux x64". */
export function publishedLabels(): string {
  const labels = PUBLISHED_TARGETS.map((t) => t.label)
  return `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`
}

let musl: boolean | undefined
/** Alpine and friends: the same probes as the binding's loader, cheapest first (ldd is a script naming its libc). */
export function isMusl(): boolean {
  if (musl !== undefined) return musl
  try {
    musl = readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    musl = !!report && !report.header?.glibcVersionRuntime
  }
  return musl
}
