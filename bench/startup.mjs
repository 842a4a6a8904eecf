#!/usr/bin/env node
// Start-up costs, measured in this fresh process (bench/run.mjs starts it several times and takes medians):
// `import('netspec')`, the first lab of the process (T1: two namespaces, a veth, a check, teardown) and a
// warm one (the median of the next five). Wall time (the targets) and this process's CPU time beside it
// (process.cpuUsage(): on a shared machine, waiting for a core inflates wall time, not CPU time). One JSON line.
const cpu = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}
const t0 = performance.now()
const c0 = cpu()
const { Lab, reachable } = await import('../dist/index.js')
const importMs = performance.now() - t0
const importCpuMs = cpu() - c0

async function t1() {
  const start = performance.now()
  const startCpu = cpu()
  const lab = await Lab.create({ label: 'bench start-up' })
  try {
    const [ns1, ns2] = await Promise.all([lab.namespace('ns1'), lab.namespace('ns2')])
    await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
    if (!(await reachable(ns1, '10.0.12.2', { timeoutMs: 2000 })).ok) throw new Error('start-up T1: ping failed')
  } finally {
    await lab.destroy()
  }
  return { ms: performance.now() - start, cpuMs: cpu() - startCpu }
}

const first = await t1()
const warm = []
for (let i = 0; i < 5; i++) warm.push(await t1())
const median = (xs) => [...xs].sort((a, b) => a - b)[2]
console.log(
  JSON.stringify({
    importMs,
    firstLabMs: first.ms,
    warmLabMs: median(warm.map((w) => w.ms)),
    importCpuMs,
    firstLabCpuMs: first.cpuMs,
    warmLabCpuMs: median(warm.map((w) => w.cpuMs)),
  }),
)
