/*
 * Impairments on one link end, proven by real traffic.
 *
 *     ┌──── a ────┐   egress impaired here   ┌──── b ────┐
 *     │ eth0 .1   │ ───────────────────────► │ eth0 .2   │
 *     └───────────┘      10.0.0.0/24         └───────────┘
 *
 * Without netem (this kernel), loss is an nftables `numgen random mod 100 < N drop` rule and rate a tbf qdisc.
 * Delay and jitter need netem: those specs skip with a reason naming it.
 */
import { test, expect } from 'netspec/vitest'
import { kernelFeatureSkipReason, type Lab } from 'netspec'

async function pair(lab: Lab) {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
  return { a, b }
}

// ping -q prints "N packets transmitted, M received"; the loss rate is what the sender saw.
const received = (out: string): number => Number(/(\d+) (?:packets )?received/.exec(out)?.[1] ?? NaN)

test('30% loss shows in a burst of 200 pings, and clear() restores every one', async ({ lab }) => {
  const { a } = await pair(lab)
  const link = await a.impair('eth0', { loss: 30 })
  expect((await link.state()).nftLoss ?? (await link.state()).qdisc?.options.loss).toBeDefined()

  const lossy = await a.exec(['ping', '-q', '-n', '-c200', '-i0.01', '-W1', '10.0.0.2'])
  const got = received(lossy.stdout)
  expect(got).toBeGreaterThan(200 * 0.5) // 30% ± wide tolerance: 100..180 replies
  expect(got).toBeLessThan(200 * 0.9)

  await link.clear()
  const clean = await a.exec(['ping', '-q', '-n', '-c50', '-i0.01', '-W1', '10.0.0.2'])
  expect(received(clean.stdout)).toBe(50)
})

test('a 1mbit rate limit makes a 256 KiB transfer take about 2 s', async ({ lab }) => {
  const { a, b } = await pair(lab)
  await b.spawn([process.execPath, '-e', "require('net').createServer(s=>s.resume()).listen(9000,()=>console.log('ready'))"], { ready: /ready/ })
  const send = [process.execPath, '-e', `const t=Date.now();const s=require('net').connect(9000,'10.0.0.2',()=>s.end(Buffer.alloc(262144)));s.on('close',()=>console.log(Date.now()-t))`]

  const link = await a.impair('eth0', { rate: '1mbit' })
  expect((await link.state()).qdisc?.kind).toMatch(/tbf|netem/)
  const ms = Number((await a.exec(send, { check: true })).stdout.trim())
  const kbitPerSecond = (262144 * 8) / ms
  expect(kbitPerSecond).toBeLessThan(1500) // 1000 kbit/s configured; the burst and headers allow some slack
  expect(kbitPerSecond).toBeGreaterThan(300)
})

test('delay needs netem: a clear error names it where the kernel lacks it', async ({ lab, skip }) => {
  const { a } = await pair(lab)
  const reason = await kernelFeatureSkipReason('netem')
  if (reason === undefined) {
    const link = await a.impair('eth0', { delay: 50 })
    const ping = await a.exec(['ping', '-c3', '-i0.2', '-n', '10.0.0.2'], { check: true })
    const rtts = [...ping.stdout.matchAll(/time=([\d.]+)/g)].map((m) => Number(m[1]))
    expect(Math.min(...rtts)).toBeGreaterThan(40)
    await link.clear()
    return
  }
  await expect(a.impair('eth0', { delay: 50 })).rejects.toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/netem/) })
  skip(reason)
})
