// Container mode: the runner image, runner containers, whole-suite runs, adopting containers.
export { buildImage, requireImage, IMAGE_REPO, LATEST as RUNNER_IMAGE, type BuildResult } from './image.js'
export { startRunner, sweepContainers, type Runner, type RunnerOptions } from './runner.js'
export { runInContainer } from './cli.js'
export { adoptContainer, type AdoptableContainer } from './adopt.js'
export { leaseEngine, releaseEngine, type Lease } from './engine.js'
export { createContainerExecutor, type ContainerExecutor } from '../exec/container.js'
