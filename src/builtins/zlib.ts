// node:zlib, loaded on first use; see child-process.ts for why and how.
import type * as Zlib from 'node:zlib'

const load = () => process.getBuiltinModule('node:zlib') as typeof Zlib

export const gunzipSync = ((...a: Parameters<typeof Zlib.gunzipSync>) => load().gunzipSync(...a)) as typeof Zlib.gunzipSync
