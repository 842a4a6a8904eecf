// node:crypto, loaded on first use (~1.7 ms at import otherwise); see child-process.ts for why and how.
import type * as Crypto from 'node:crypto'

const load = () => process.getBuiltinModule('node:crypto') as typeof Crypto

export const createHash = ((...a: Parameters<typeof Crypto.createHash>) => load().createHash(...a)) as typeof Crypto.createHash
export const randomInt = ((...a: [number, number]) => load().randomInt(...a)) as typeof Crypto.randomInt
export const randomBytes = ((size: number) => load().randomBytes(size)) as (size: number) => Buffer
