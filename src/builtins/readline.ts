// node:readline, loaded on first use; see child-process.ts for why and how.
import type * as Readline from 'node:readline'

const load = () => process.getBuiltinModule('node:readline') as typeof Readline

export const createInterface = ((...a: Parameters<typeof Readline.createInterface>) => load().createInterface(...a)) as typeof Readline.createInterface
