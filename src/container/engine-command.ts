// `netspec engine start|stop|status`: a Docker engine for container mode with minimal flags
// (dockerd --bridge=none --iptables=false --ip-forward=false), through the script the package ships.
import { spawn } from 'node:child_process'
import { UsageError } from '../cli/args.js'
import { EXIT, type Command } from '../cli/command.js'
import { DOCKERD_SCRIPT } from './engine.js'

const HELP = `Usage: netspec engine start|stop|status

start   Starts dockerd only if no Docker engine answers (\`docker info\` fails), with
        --bridge=none --iptables=false --ip-forward=false --ip-masq=false: no docker0, no iptables
        chains, ip_forward unchanged. Waits until it answers. Log: /run/netspec/dockerd.log.
stop    Stops only a dockerd that \`netspec engine start\` started (by the PID in /run/netspec/dockerd.pid).
status  Says whether an engine answers and whether \`netspec engine start\` started it.

Needs docker.io (apt-get install -y docker.io); starting dockerd needs root.

Exit codes: 0 done, 1 failed, 2 usage error, 127 docker is not installed.

Examples:
  sudo -E env "PATH=$PATH" npx netspec engine start
  npx netspec engine status
`

const VERBS = ['start', 'stop', 'status']

/** Runs the shipped scripts/dockerd.sh with the verb, its output passed through; resolves with its exit code. */
export function engineCli(args: string[]): Promise<number> {
  const [verb, ...rest] = args
  if (verb === undefined || !VERBS.includes(verb)) throw new UsageError(verb === undefined ? 'say what to do: start, stop or status' : `unknown action '${verb}'`)
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`)
  return new Promise((resolve) => {
    const child = spawn('sh', [DOCKERD_SCRIPT, verb], { stdio: 'inherit' })
    child.on('error', () => resolve(EXIT.notFound))
    child.on('close', (code) => resolve(code ?? EXIT.failed))
  })
}

export const engineCommand: Command = {
  name: 'engine',
  summary: 'start, stop or check a Docker engine for container mode (minimal flags, root namespace untouched)',
  help: HELP,
  run: (args) => engineCli(args),
}
