// Moved to the values layer (src/values/address.ts); kept so existing imports keep working.
export { canonicalV6, expandV6 } from '../values/address.js'
