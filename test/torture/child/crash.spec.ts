// Run by test/integration/reaper-crash.test.ts: a Vitest worker (the lab's owner) dies by SIGKILL
// in the middle of a test, as an OOM kill would end it. Its reaper must clean up after it.
import { appendFileSync } from 'node:fs'
import { test } from 'netspec/vitest'

test('a worker killed mid-test', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1', { files: { hosts: '10.0.12.2 ns2\n' } })
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
  const sleeper = await ns2.spawn(['sh', '-c', `sleep 1000; : ${process.env.NETSPEC_CHILD_TAG}`])
  appendFileSync(process.env.NETSPEC_CHILD_REPORT!, `${JSON.stringify({ pid: process.pid, labId: lab.id, sleeper: sleeper.pid })}\n`)
  process.kill(process.pid, 'SIGKILL')
})
