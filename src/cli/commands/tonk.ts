// validate / inspect / unpack for .tonk files (Tonk's own format), thin over src/core/tonk. The bundle
// commands hand a path ending in .tonk to these; output, --json and exit codes are theirs.
import { resolve } from 'node:path'
import { loadTonk, unpackTonk, validateTonkFile, type LoadedTonk } from '../../core/tonk'
import { bundleCall, EXIT_INVALID, formatBytes, issueLine, type Output, table } from '../output'



function fileCounts(tonk: LoadedTonk) {
  const files = tonk.vfs.files()
  return {
    files: files.length,
    directories: tonk.vfs.nodes.length - files.length,
    totalBytes: files.reduce((n, f) => n + (f.size ?? 0), 0),
  }
}

export async function validateTonk(path: string, out: Output): Promise<void> {
  const report = await bundleCall(() => validateTonkFile(path))
  const errors = report.issues.filter((i) => i.severity === 'error')
  const counts = report.loaded ? fileCounts(report.loaded) : undefined
  out.result({ ok: errors.length === 0, path, format: 'tonk', rootId: report.manifest?.rootId, ...counts, issues: report.issues }, () =>
    errors.length === 0
      ? [`${path}: valid .tonk (${counts!.files} files, ${counts!.directories} folders)`, ...report.issues.map(issueLine)].join('\n')
      : `${path}: ${errors.length} error(s)`,
  )
  if (errors.length > 0) {
    for (const found of report.issues) out.error(issueLine(found))
    process.exitCode = EXIT_INVALID
  }
}

const layoutName = { entries: 'PathIndex "entries" (Tonk since November 2025)', 'path_index-json': 'PathIndex as a "path_index" JSON string (older Tonk)' }

export async function inspectTonk(file: string, out: Output): Promise<void> {
  const tonk = await bundleCall(() => loadTonk(file))
  const { manifest: m, vfs } = tonk
  const counts = fileCounts(tonk)
  const inTree = new Set([vfs.rootId, ...vfs.nodes.map((n) => n.documentId)])
  const outside = [...tonk.documents.keys()].filter((id) => !inTree.has(id)).length
  const entrypoints = m.entrypoints.map((entrypoint) => ({ entrypoint, resolves: vfs.resolveEntrypoint(entrypoint) ?? null }))
  out.result(
    {
      ok: true,
      format: 'tonk',
      manifest: m,
      rootId: m.rootId,
      layout: vfs.layout,
      entrypoints,
      documents: tonk.documents.size,
      documentsOutsideTree: outside,
      sizeOnDisk: tonk.sizeOnDisk,
      ...counts,
      tree: vfs.nodes,
      warnings: tonk.warnings,
    },
    () => {
      const vendor = m.xVendor ? Object.keys(m.xVendor).join(', ') : ''
      return [
        `${file}: Tonk file, manifest v${m.manifestVersion}, format ${m.version.major}.${m.version.minor}`,
        `  rootId        ${m.rootId}`,
        `  entrypoints   ${entrypoints.map((e) => `${e.entrypoint} → ${e.resolves ?? '(not in the VFS)'}`).join(', ') || '(none)'}`,
        `  networkUris   ${m.networkUris?.join(', ') || '(none)'}`,
        ...(m.xNotes ? [`  notes         ${m.xNotes}`] : []),
        ...(vendor ? [`  xVendor       ${vendor}`] : []),
        `  index         ${layoutName[vfs.layout]}`,
        `  documents     ${tonk.documents.size}${outside > 0 ? ` (${outside} outside the tree)` : ''}`,
        `  size          ${formatBytes(tonk.sizeOnDisk)} zipped, ${formatBytes(counts.totalBytes)} of files, ${counts.files} files in ${counts.directories} folders`,
        ...tonk.warnings.map(issueLine),
        '',
        vfs.nodes.length === 0
          ? '(the VFS is empty)'
          : table(
              ['path', 'bytes', 'type'],
              vfs.nodes.map((n) => (n.type === 'directory' ? [`${n.path}/`, '-', 'directory'] : [n.path, String(n.size), n.mime ?? ''])),
              [1],
            ),
      ].join('\n')
    },
  )
}

export async function unpackTonkFile(file: string, output: string, out: Output): Promise<void> {
  const tonk = await bundleCall(() => loadTonk(file))
  const result = await bundleCall(() => unpackTonk(tonk, output))
  out.result({ ok: true, output: resolve(output), rootId: tonk.manifest.rootId, ...result }, () =>
    `unpacked ${result.files.length} files and ${result.directories.length} folders (${formatBytes(result.bytes)}) of ${file} -> ${output}`,
  )
}
