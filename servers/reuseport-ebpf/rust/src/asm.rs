//! eBPF instructions, assembled by hand (no compiler), and the two sk_reuseport programs.
//! Encodings are the kernel's (include/uapi/linux/bpf.h, bpf_common.h).

/// One instruction: opcode, destination register (low nibble) and source register (high
/// nibble), offset, immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Instruction classes, sizes, modes, operations and sources.
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
const W: u8 = 0x00;
const DW: u8 = 0x18;
const IMM: u8 = 0x00;
const MEM: u8 = 0x60;
const ATOMIC: u8 = 0xc0;
const ADD: u8 = 0x00;
const SUB: u8 = 0x10;
const OR: u8 = 0x40;
const LSH: u8 = 0x60;
const MOD: u8 = 0x90;
const MOV: u8 = 0xb0;
const JEQ: u8 = 0x10;
/// Unsigned >=.
const JGE: u8 = 0x30;
const CALL: u8 = 0x80;
const EXIT: u8 = 0x90;
const K: u8 = 0x00;
const X: u8 = 0x08;
/// The immediate of an atomic add that returns the old value (BPF_ADD | BPF_FETCH).
const FETCH_ADD: i32 = 0x01;
/// A 64-bit immediate load whose value is a map's descriptor (BPF_PSEUDO_MAP_FD).
const PSEUDO_MAP_FD: u8 = 1;

// Helper functions.
const MAP_LOOKUP_ELEM: i32 = 1;
const GET_PRANDOM_U32: i32 = 7;
const SK_SELECT_REUSEPORT: i32 = 82;
/// The verdict that lets the connection in (with the selected socket, or the kernel's hash).
const SK_PASS: i32 = 1;

// Registers: r0 return value, r1-r5 arguments (clobbered by calls), r6-r9 kept, r10 the frame.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R6: u8 = 6;
const R7: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const FP: u8 = 10;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// A jump target, bound to an instruction index later.
#[derive(Clone, Copy)]
struct Label(usize);

/// A program under construction, with forward jumps resolved once their target is bound.
#[derive(Default)]
struct Asm {
    code: Vec<Insn>,
    labels: Vec<Option<usize>>,
    jumps: Vec<(usize, Label)>,
}

impl Asm {
    fn push(&mut self, i: Insn) -> &mut Self {
        self.code.push(i);
        self
    }
    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.code.len());
    }
    fn mov(&mut self, dst: u8, src: u8) -> &mut Self {
        self.push(insn(ALU64 | MOV | X, dst, src, 0, 0))
    }
    fn mov_imm(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.push(insn(ALU64 | MOV | K, dst, 0, 0, imm))
    }
    fn alu_imm(&mut self, op: u8, dst: u8, imm: i32) -> &mut Self {
        self.push(insn(ALU64 | op | K, dst, 0, 0, imm))
    }
    fn alu(&mut self, op: u8, dst: u8, src: u8) -> &mut Self {
        self.push(insn(ALU64 | op | X, dst, src, 0, 0))
    }
    fn load_u64(&mut self, dst: u8, src: u8, off: i16) -> &mut Self {
        self.push(insn(LDX | MEM | DW, dst, src, off, 0))
    }
    fn store_u32(&mut self, dst: u8, off: i16, src: u8) -> &mut Self {
        self.push(insn(STX | MEM | W, dst, src, off, 0))
    }
    fn store_u32_imm(&mut self, dst: u8, off: i16, imm: i32) -> &mut Self {
        self.push(insn(ST | MEM | W, dst, 0, off, imm))
    }
    fn map(&mut self, dst: u8, fd: i32) -> &mut Self {
        self.push(insn(LD | IMM | DW, dst, PSEUDO_MAP_FD, 0, fd))
            .push(insn(0, 0, 0, 0, 0))
    }
    fn call(&mut self, helper: i32) -> &mut Self {
        self.push(insn(JMP | CALL, 0, 0, 0, helper))
    }
    fn jump_imm(&mut self, op: u8, dst: u8, imm: i32, to: Label) -> &mut Self {
        self.jumps.push((self.code.len(), to));
        self.push(insn(JMP | op | K, dst, 0, 0, imm))
    }
    fn jump(&mut self, op: u8, dst: u8, src: u8, to: Label) -> &mut Self {
        self.jumps.push((self.code.len(), to));
        self.push(insn(JMP | op | X, dst, src, 0, 0))
    }
    fn finish(mut self) -> Vec<Insn> {
        for (at, to) in std::mem::take(&mut self.jumps) {
            let target = self.labels[to.0].expect("every jump's label is bound");
            self.code[at].off = (target - at - 1) as i16;
        }
        self.code
    }

    /// Looks up key 0 of `map` into r0 (a pointer to its value, or 0); r1-r5 clobbered.
    fn lookup_first(&mut self, map: i32) -> &mut Self {
        self.store_u32_imm(FP, -4, 0)
            .mov(R2, FP)
            .alu_imm(ADD, R2, -4)
            .map(R1, map)
            .call(MAP_LOOKUP_ELEM)
    }

    /// Selects the socket in slot r7 of `socks` for the connection (r6 holds the context), and
    /// passes: with the slot empty (a dead worker's) the helper fails and the kernel hashes.
    fn select_and_pass(&mut self, socks: i32, pass: Label) {
        self.store_u32(FP, -8, R7)
            .mov(R1, R6)
            .map(R2, socks)
            .mov(R3, FP)
            .alu_imm(ADD, R3, -8)
            .mov_imm(R4, 0)
            .call(SK_SELECT_REUSEPORT);
        self.bind(pass);
        self.mov_imm(R0, SK_PASS).push(insn(JMP | EXIT, 0, 0, 0, 0));
    }
}

/// Round-robin over `n` slots: slot = counter++ % n, the counter a u64 in key 0 of the ARRAY
/// map `counter`, incremented atomically (BPF_ATOMIC fetch-and-add: Linux 5.12).
pub fn round_robin(counter: i32, socks: i32, n: u32) -> Vec<Insn> {
    let mut a = Asm::default();
    let pass = a.label();
    a.mov(R6, R1).lookup_first(counter).jump_imm(JEQ, R0, 0, pass);
    a.mov_imm(R7, 1)
        .push(insn(STX | ATOMIC | DW, R0, R7, 0, FETCH_ADD))
        .alu_imm(MOD, R7, n as i32);
    a.select_and_pass(socks, pass);
    a.finish()
}

/// Where the load program finds what it reads in its map's one value: for each of the `slots`
/// slots a u64 word, the index of the cell its current worker counts in (`cells`: none, skip
/// the slot); then `cells` counters of open connections, one per worker process (see `loads`),
/// each on a cache line of its own, so workers counting on different CPUs do not share a line.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub cells: u32,
    pub slots: u32,
}

/// A cache line.
const LINE: u32 = 64;

impl Layout {
    /// Where slot `s`'s cell index is, in bytes.
    pub fn assignment(&self, s: u32) -> u32 {
        8 * s
    }
    /// Where the cells start, in bytes.
    fn cells_at(&self) -> u32 {
        (8 * self.slots).div_ceil(LINE) * LINE
    }
    /// Where cell `c` is, in bytes.
    pub fn cell(&self, c: u32) -> u32 {
        self.cells_at() + LINE * c
    }
    pub fn value_size(&self) -> u32 {
        self.cell(self.cells)
    }
}

/// Least connections: the slot whose worker has the fewest open, ties broken by the distance
/// from a random starting slot (so equal workers share new connections). An unrolled loop over
/// the slots; each key is `open << 16 | (slot - start) mod n`.
pub fn least_loaded(loads: i32, socks: i32, layout: Layout) -> Vec<Insn> {
    let n = layout.slots as i32;
    let mut a = Asm::default();
    let pass = a.label();
    a.mov(R6, R1)
        .call(GET_PRANDOM_U32)
        .mov(R9, R0)
        .alu_imm(MOD, R9, n)
        .lookup_first(loads)
        .jump_imm(JEQ, R0, 0, pass);
    // r7: the best slot so far, r8: its key (none yet: the largest).
    a.mov_imm(R7, 0).mov_imm(R8, -1);
    for s in 0..layout.slots {
        let next = a.label();
        a.load_u64(R1, R0, layout.assignment(s) as i16)
            .jump_imm(JGE, R1, layout.cells as i32, next)
            .alu_imm(LSH, R1, LINE.trailing_zeros() as i32)
            .alu_imm(ADD, R1, layout.cells_at() as i32)
            .mov(R2, R0)
            .alu(ADD, R2, R1)
            .load_u64(R2, R2, 0)
            .alu_imm(LSH, R2, 16)
            .mov_imm(R3, n + s as i32)
            .alu(SUB, R3, R9)
            .alu_imm(MOD, R3, n)
            .alu(OR, R2, R3)
            .jump(JGE, R2, R8, next)
            .mov(R8, R2)
            .mov_imm(R7, s as i32);
        a.bind(next);
    }
    a.select_and_pass(socks, pass);
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The research notes' round-robin program, instruction by instruction (map fds 3 and 4).
    #[test]
    fn round_robin_matches_the_verified_encoding() {
        let p = round_robin(3, 4, 3);
        let bytes: Vec<(u8, u8, i16, i32)> = p.iter().map(|i| (i.code, i.regs, i.off, i.imm)).collect();
        assert_eq!(
            bytes,
            [
                (0xbf, 0x16, 0, 0),  // r6 = r1
                (0x62, 0x0a, -4, 0), // *(u32 *)(r10 - 4) = 0
                (0xbf, 0xa2, 0, 0),  // r2 = r10
                (0x07, 0x02, 0, -4), // r2 += -4
                (0x18, 0x11, 0, 3),  // r1 = map 3
                (0x00, 0x00, 0, 0),
                (0x85, 0x00, 0, 1),  // call map_lookup_elem
                (0x15, 0x00, 11, 0), // if r0 == 0 goto pass
                (0xb7, 0x07, 0, 1),  // r7 = 1
                (0xdb, 0x70, 0, 1),  // r7 = atomic_fetch_add(*(u64 *)(r0 + 0), r7)
                (0x97, 0x07, 0, 3),  // r7 %= 3
                (0x63, 0x7a, -8, 0), // *(u32 *)(r10 - 8) = r7
                (0xbf, 0x61, 0, 0),  // r1 = r6
                (0x18, 0x12, 0, 4),  // r2 = map 4
                (0x00, 0x00, 0, 0),
                (0xbf, 0xa3, 0, 0),  // r3 = r10
                (0x07, 0x03, 0, -8), // r3 += -8
                (0xb7, 0x04, 0, 0),  // r4 = 0
                (0x85, 0x00, 0, 82), // call sk_select_reuseport
                (0xb7, 0x00, 0, 1),  // pass: r0 = SK_PASS
                (0x95, 0x00, 0, 0),  // exit
            ]
        );
    }

    #[test]
    fn every_cell_has_a_cache_line_of_its_own_after_the_slots_words() {
        let l = Layout { cells: 6, slots: 9 };
        assert_eq!((l.assignment(8), l.cell(0)), (64, 128));
        assert!((0..6).all(|c| l.cell(c).is_multiple_of(64) && l.cell(c) + 8 <= l.value_size()));
        assert_eq!(l.value_size(), 128 + 6 * 64);
    }

    #[test]
    fn every_jump_of_the_least_loaded_program_lands_inside_it() {
        let p = least_loaded(3, 4, Layout { cells: 6, slots: 3 });
        for (at, i) in p.iter().enumerate() {
            if i.code & 0x07 == JMP && i.code & 0xf0 != CALL && i.code & 0xf0 != EXIT {
                let to = at as i64 + 1 + i64::from(i.off);
                assert!(to > at as i64 && (to as usize) < p.len(), "jump at {at} to {to}");
            }
        }
        // The last two instructions pass.
        assert_eq!(p[p.len() - 2], insn(ALU64 | MOV | K, R0, 0, 0, SK_PASS));
    }
}
