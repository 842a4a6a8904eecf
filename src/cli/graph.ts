// `netspec graph`: a live, read-only drawing of this machine's namespaces and their veth pairs.
import { parseArgs } from './args.js'
import { EXIT, stdio, type Command, type Io } from './command.js'
import { collectGraph } from './graph-collect.js'
import { filterGraph, type NetGraph } from './graph-model.js'
import { renderGraphMermaid, renderGraphText } from './graph-render.js'

const HELP = `Usage: netspec graph [--mermaid | --json] [--match TEXT] [--no-docker]

Draws this machine's named network namespaces (ip netns list), running Docker containers' namespaces
(when docker answers) and the host's, with their interfaces and addresses, and which namespace holds
the other end of each veth pair (found through each namespace's nsid table: ip -n NS netns list-id).
Read-only: it changes nothing.

Options:
  --mermaid      print a Mermaid flowchart (paste into Markdown) instead of text
  --json         print the graph as JSON
  --match TEXT   only namespaces whose name, title or lab contains TEXT, and their peers
  --no-docker    do not ask Docker for containers

Exit codes: 0 drawn, 1 could not read the namespaces, 2 usage error.

Examples:
  sudo -E env "PATH=$PATH" npx netspec graph
  sudo -E env "PATH=$PATH" npx netspec graph --match ns-4711 --mermaid >> "$GITHUB_STEP_SUMMARY"
`

export function renderGraph(graph: NetGraph, format: 'text' | 'mermaid' | 'json'): string {
  if (format === 'json')
    return JSON.stringify({ ...graph, namespaces: graph.namespaces.map((n) => ({ ...n, nsids: Object.fromEntries(n.nsids) })) }, null, 2)
  return format === 'mermaid' ? `\`\`\`mermaid\n${renderGraphMermaid(graph)}\n\`\`\`` : renderGraphText(graph)
}

export async function graphCli(args: string[], io: Io = stdio): Promise<number> {
  const a = parseArgs(args, { flags: ['mermaid', 'json', 'no-docker'], options: ['match'] })
  const format = a.flags.has('json') ? 'json' : a.flags.has('mermaid') ? 'mermaid' : 'text'
  if (a.flags.has('json') && a.flags.has('mermaid')) io.err('netspec graph: --json wins over --mermaid')
  const graph = filterGraph(await collectGraph({ docker: !a.flags.has('no-docker') }), a.options.get('match'))
  io.out(renderGraph(graph, format))
  return EXIT.ok
}

export const graphCommand: Command = {
  name: 'graph',
  summary: "draw this machine's namespaces (Docker's too) and how veth pairs connect them (--mermaid)",
  help: HELP,
  run: (args) => graphCli(args),
}
