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
    const seen = new Map<string, IfaceRef>()
    const segs = new Set(joined.map((i) => this.segmentOf(i)))
    for (const seg of segs) {
      for (const [addr, holder] of seg.addresses) {
        const other = seen.get(addr)
        if (other !== undefined && other !== holder) throw clash(addr, other, holder)
        seen.set(addr, holder)
      }
    }
    for (const [iface, addr] of adding) {
      const other = seen.get(addr)
      if (other !== undefined && other !== iface) throw clash(addr, other, iface)
      seen.set(addr, iface)
    }
  }

  join(a: IfaceRef, b: IfaceRef): void {
    const sa = this.segmentOf(a)
    const sb = this.segmentOf(b)
    if (sa === sb) return
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
