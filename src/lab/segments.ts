// The lab's model of layer-2 segments: which interfaces share a wire (a veth pair) or a switch
// (a bridge and the peers of its ports), so that an address used twice on one segment is
// rejected before the kernel is touched. Union-find over interfaces, each segment owning its addresses.
import { invalidInput } from '../errors.js'

export interface IfaceRef {
  /** Namespace label and interface name, for messages: `ns1/veth1`. */
  readonly id: string
}

export class Segment {
  readonly members = new Set<IfaceRef>()
  /** address (no prefix) → the interface holding it */
  readonly addresses = new Map<string, IfaceRef>()
}

export class SegmentMap {
  private readonly of = new Map<IfaceRef, Segment>()

  segmentOf(iface: IfaceRef): Segment {
    let seg = this.of.get(iface)
    if (seg === undefined) {
      seg = new Segment()
      seg.members.add(iface)
      this.of.set(iface, seg)
    }
    return seg
  }

  /** Would joining these interfaces' segments (and adding these addresses) clash? Throws if so; changes nothing. */
  check(joined: readonly IfaceRef[], adding: ReadonlyArray<readonly [IfaceRef, string]>): void {
    // The largest segment is looked up, never copied: plugging into a 200-port bridge stays O(new addresses).
    const [base, ...rest] = [...new Set(joined.map((i) => this.segmentOf(i)))].sort((x, y) => y.addresses.size - x.addresses.size)
    const seen = new Map<string, IfaceRef>()
    const add = (addr: string, holder: IfaceRef) => {
      const other = seen.get(addr) ?? base?.addresses.get(addr)
      if (other !== undefined && other !== holder) throw clash(addr, other, holder)
      seen.set(addr, holder)
    }
    for (const seg of rest) for (const [addr, holder] of seg.addresses) add(addr, holder)
    for (const [iface, addr] of adding) add(addr, iface)
  }

  join(a: IfaceRef, b: IfaceRef): void {
    let sa = this.segmentOf(a)
    let sb = this.segmentOf(b)
    if (sa === sb) return
    if (sa.members.size < sb.members.size) [sa, sb] = [sb, sa] // the smaller joins the larger
    for (const m of sb.members) {
      sa.members.add(m)
      this.of.set(m, sa)
    }
    for (const [addr, holder] of sb.addresses) sa.addresses.set(addr, holder)
  }

  addAddress(iface: IfaceRef, address: string): void {
    this.segmentOf(iface).addresses.set(address, iface)
  }

  removeAddress(iface: IfaceRef, address: string): void {
    const seg = this.segmentOf(iface)
    if (seg.addresses.get(address) === iface) seg.addresses.delete(address)
  }

  /** An interface is gone (its link was deleted): forget it and its addresses. */
  remove(iface: IfaceRef): void {
    const seg = this.of.get(iface)
    if (seg === undefined) return
    seg.members.delete(iface)
    for (const [addr, holder] of [...seg.addresses]) if (holder === iface) seg.addresses.delete(addr)
    this.of.delete(iface)
  }
}

function clash(address: string, a: IfaceRef, b: IfaceRef) {
  return invalidInput(`address ${address} is used twice on one layer-2 segment: by ${a.id} and ${b.id}`, {
    hint: 'every interface on a link or bridge needs its own address; pick another host number',
  })
}
