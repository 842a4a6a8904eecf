// lab.expose(ns, port): a web app inside a lab namespace reached by this machine's own tools (curl, Node's
// http client) at http://127.0.0.1:<free port>, through a user-space proxy whose upstream sockets open inside
// the lab namespace. Both ways (in-process namespace entry and the relay process) are exercised; the root
// namespace's routes and addresses do not change (also checked by the sealed-lab check around every run);
// the port is closed at teardown.
import { execFile, spawnSync } from 'node:child_process'
import { get } from 'node:http'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import { Lab, isNetspecError, type Namespace } from 'netspec'
import { describe, expect, test } from 'vitest'

const run = promisify(execFile)
const hasCurl = spawnSync('sh', ['-c', 'command -v curl']).status === 0 // also with curl where installed (a fresh Debian has none)
// A web app that says where it runs and who asked, listening on the namespace's loopback only.
const WEB = `require('http').createServer((q, s) => s.end('hello from ' + process.argv[1] + ' to ' + q.socket.remoteAddress + ' for ' + q.url)).listen(8080, '127.0.0.1', () => console.log('web up'))`
const rootState = async () => (await run('ip', ['-j', 'route', 'show', 'table', 'all'])).stdout + (await run('ip', ['-j', 'addr'])).stdout

const httpGet = (url: string) =>
  new Promise<string>((resolve, reject) => {
    get(url, (r) => {
      let body = ''
      r.on('data', (c: Buffer) => (body += c.toString()))
      r.on('end', () => resolve(body))
    }).on('error', reject)
  })
const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.on('connect', () => (s.destroy(), resolve('connected')))
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
  })

async function webIn(lab: Lab, label: string): Promise<Namespace> {
  const ns = await lab.namespace(label)
  await ns.spawn([process.execPath, '-e', WEB, label], { ready: /web up/ })
  return ns
}

describe('lab.expose', { timeout: 60_000 }, () => {
  for (const via of ['in-process', 'relay'] as const) {
    test(`${via}: Node's http (and curl where installed) reach a web app on a lab namespace's loopback; closed at teardown`, async () => {
      const before = await rootState()
      let port: number
      {
        await using lab = await Lab.create({ label: `expose ${via}` })
        const web = await webIn(lab, 'web')
        const other = await webIn(lab, 'other') // same port in another namespace: each exposure goes to its own
        const e = await lab.expose(web, 8080, { via })
        const o = await lab.expose(other, 8080, { via })
        port = e.port
        expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(e.target).toEqual({ namespace: 'web', host: '127.0.0.1', port: 8080 })
        expect(await httpGet(`${e.url}/index.html`)).toBe('hello from web to 127.0.0.1 for /index.html')
        if (hasCurl) expect((await run('curl', ['-sS', '--max-time', '10', `${e.url}/c`])).stdout).toBe('hello from web to 127.0.0.1 for /c')
        expect(await httpGet(`${o.url}/x`)).toBe('hello from other to 127.0.0.1 for /x')
        const many = await Promise.all(Array.from({ length: 20 }, (_, i) => httpGet(`${e.url}/${i}`)))
        expect(many).toEqual(Array.from({ length: 20 }, (_, i) => `hello from web to 127.0.0.1 for /${i}`))
        await o.close()
        expect(await refused(o.port)).toBe('ECONNREFUSED')
        expect(await rootState()).toBe(before) // nothing routed or addressed in this machine's namespace
      }
      expect(await refused(port)).toBe('ECONNREFUSED') // gone with the lab
    })
  }

  test('bad input is refused before anything listens', async () => {
    await using lab = await Lab.create({ label: 'expose input' })
    const ns = await lab.namespace('ns')
    for (const bad of [0, 65536, 1.5, -1]) {
      const e = await lab.expose(ns, bad).catch((x: unknown) => x)
      expect(isNetspecError(e, 'invalid-input'), String(bad)).toBe(true)
    }
    const e = await lab.expose(ns, 80, { host: 'localhost; rm -rf /' }).catch((x: unknown) => x)
    expect(isNetspecError(e, 'invalid-input')).toBe(true)
    expect((e as Error).message).toContain('host must be an IP address')
  })
})
