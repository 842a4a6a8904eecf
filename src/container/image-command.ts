// `netspec image`: build the runner image with no registry (cached by a hash of its inputs), or sweep containers.
import { parseArgs, UsageError } from '../cli/args.js'
import { EXIT, stdio, type Command, type Io } from '../cli/command.js'
import { isNetspecError } from '../errors.js'
import { buildImage } from './image.js'
import { sweepContainers } from './runner.js'

const HELP = `Usage: netspec image build [--force] [--json]
       netspec image sweep

build   Builds the runner image netspec-runner:<hash> (also tagged netspec-runner:latest) from this
        machine's own tools (ip, nft, iptables, ping, tcpdump, conntrack …), their shared libraries and
        busybox-static, with \`docker import\`: no registry, ~3–5 s, ~35 MB. Node and your project are
        bind-mounted at run time. A second build with unchanged inputs is a cache hit. Smoke-tested.
        --force rebuilds even when the tag exists.
sweep   Removes runner containers whose owner process is dead (by netspec's labels only).

Needs a Docker engine: npx netspec engine start (or apt-get install -y docker.io first).

Exit codes: 0 done, 1 failed, 2 usage error.

Examples:
  sudo -E env "PATH=$PATH" npx netspec image build
  sudo -E env "PATH=$PATH" npx netspec run --container -- specs/
`

export async function imageCli(args: string[], io: Io = stdio): Promise<number> {
  const [verb, ...rest] = args
  if (verb === 'build') {
    const a = parseArgs(rest, { flags: ['force', 'json'] })
    try {
      const r = await buildImage({ force: a.flags.has('force'), log: (l) => io.err(`netspec image: ${l}`) })
      io.out(
        a.flags.has('json')
          ? JSON.stringify(r)
          : `${r.image} ${r.cached ? 'already built (cached)' : 'built'} in ${(r.durationMs / 1000).toFixed(1)} s, ${(r.sizeBytes / 1e6).toFixed(1)} MB; tagged netspec-runner:latest`,
      )
      return EXIT.ok
    } catch (e) {
      io.err(`netspec image build: ${isNetspecError(e) ? e.message : String(e)}`)
      return EXIT.failed
    }
  }
  if (verb === 'sweep') {
    parseArgs(rest, {})
    const removed = await sweepContainers()
    io.out(removed.length === 0 ? 'no runner containers of dead owners' : `removed ${removed.length} runner container(s): ${removed.join(' ')}`)
    return EXIT.ok
  }
  throw new UsageError(verb === undefined ? 'say what to do: build or sweep' : `unknown action '${verb}'`)
}

export const imageCommand: Command = {
  name: 'image',
  summary: 'build the runner image for container mode (no registry needed); sweep dead runners',
  help: HELP,
  run: (args) => imageCli(args),
}
