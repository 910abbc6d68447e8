//! The baseline emitter for x86-64 (System V). f64 value `k` lives in `xmm<k>` for `k` < 13, else
//! in the 8-byte slot `[rsp + 8k]`; `xmm13..15` are scratch. Integers keep the top in `rax` and
//! the rest in slots; `rcx` and `rdx` are scratch. Calls of Rust math functions (which may clobber
//! every `xmm`) save the values in registers to their slots first and reload them after. A
//! formula from memory keeps its argument pointer in `rbx`; a kernel keeps the column table, the
//! output, the length and the row in `rbx`, `r12`, `r13` and `r14`, all callee-saved.

mod typed;

use super::cfi::Cfi;
use super::{Emitted, Emitter, PROBE, Shape, Unary, VALUE_REGS, slot_bytes, vars_in_registers};
use crate::expr::{Args, BinOp, Program, Ty, clif_type};

const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;
const RBX: u8 = 3;
const RSP: u8 = 4;
const RSI: u8 = 6;
const RDI: u8 = 7;
const R8: u8 = 8;
const R12: u8 = 12;
const R13: u8 = 13;
const R14: u8 = 14;
/// Where System V passes the first six integer arguments.
const INT_ARGS: [u8; 6] = [RDI, RSI, RDX, RCX, 8, 9];
/// `xmm13..15`: scratch.
const S1: u8 = 13;
const S2: u8 = 14;
const S3: u8 = 15;

/// A memory operand: `[base + index * scale + disp]`.
#[derive(Clone, Copy)]
struct Mem {
    base: u8,
    index: Option<(u8, u8)>,
    disp: i32,
}

/// An operand: a register or memory.
#[derive(Clone, Copy)]
enum Rm {
    Reg(u8),
    Mem(Mem),
}

pub(crate) struct X64 {
    code: Vec<u8>,
    cfi: Cfi,
    ty: Ty,
    shape: Shape,
    /// Bytes of the frame below the saved registers.
    frame: usize,
    /// Slots for values, then (for a formula in registers) one per argument.
    values: usize,
    vars: usize,
    /// Callee-saved registers pushed, in push order.
    saved: &'static [u8],
    /// Variable `i` lives in `xmm<values + i>` (`super::vars_in_registers`).
    var_regs: bool,
    /// The program's type, and which of its first 8 variables are floats (bit `i`), which
    /// arrive in the next `xmm` register rather than the next integer one.
    result: Ty,
    float_args: u8,
    /// Where a kernel's loop starts, and the jump out of it to patch.
    loop_top: usize,
    loop_exit: usize,
}

impl X64 {
    fn wide(&self) -> bool {
        self.ty == Ty::I64
    }

    fn slot(&self, k: usize) -> Rm {
        // The frame is at most 8 × (MAX_OPERATORS + MAX_VARS) bytes: the offset fits an i32.
        Rm::Mem(Mem {
            base: RSP,
            index: None,
            disp: (8 * k) as i32,
        })
    }

    /// One instruction: `prefix`, REX (with W if `w`), `opcode`, then ModRM/SIB/displacement
    /// for register field `reg` and operand `rm`. Assembled in a local buffer and appended at
    /// once: most of a baseline compile is this function.
    fn op(&mut self, prefix: Option<u8>, w: bool, opcode: &[u8], reg: u8, rm: Rm) {
        let mut buf = [0u8; 16];
        let mut n = 0;
        let mut put = |byte: u8| {
            buf[n] = byte;
            n += 1;
        };
        if let Some(p) = prefix {
            put(p);
        }
        let (b, x) = match rm {
            Rm::Reg(r) => (r, 0),
            Rm::Mem(m) => (m.base, m.index.map_or(0, |(i, _)| i)),
        };
        let rex = 0x40 | u8::from(w) << 3 | (reg >> 3) << 2 | (x >> 3) << 1 | (b >> 3);
        if rex != 0x40 {
            put(rex);
        }
        for &byte in opcode {
            put(byte);
        }
        let reg = (reg & 7) << 3;
        match rm {
            Rm::Reg(r) => put(0xC0 | reg | (r & 7)),
            Rm::Mem(m) => {
                // rbp and r13 as a base always need a displacement.
                let mode = if m.disp == 0 && m.base & 7 != 5 {
                    0x00
                } else if i8::try_from(m.disp).is_ok() {
                    0x40
                } else {
                    0x80
                };
                match m.index {
                    Some((index, scale)) => {
                        put(mode | reg | 4);
                        let ss = scale.trailing_zeros() as u8;
                        put(ss << 6 | (index & 7) << 3 | (m.base & 7));
                    }
                    None if m.base & 7 == RSP => {
                        put(mode | reg | 4);
                        put(0x24);
                    }
                    None => put(mode | reg | (m.base & 7)),
                }
                match mode {
                    0x40 => put(m.disp as u8),
                    0x80 => m.disp.to_le_bytes().into_iter().for_each(put),
                    _ => {}
                }
            }
        }
        // All 16 bytes, then the tail cut: a copy of fixed size is two moves, where one of `n`
        // bytes is a call of `memcpy`.
        let end = self.code.len() + n;
        self.code.extend_from_slice(&buf);
        self.code.truncate(end);
    }

    /// An SSE2 scalar-double instruction `0F opcode` with mandatory prefix `prefix`.
    fn sse(&mut self, prefix: u8, opcode: u8, xmm: u8, rm: Rm) {
        self.op(Some(prefix), false, &[0x0F, opcode], xmm, rm);
    }

    fn movsd_load(&mut self, xmm: u8, rm: Rm) {
        self.sse(0xF2, 0x10, xmm, rm);
    }

    fn movsd_store(&mut self, rm: Rm, xmm: u8) {
        self.sse(0xF2, 0x11, xmm, rm);
    }

    /// `movapd dst, src`.
    fn movapd(&mut self, dst: u8, src: u8) {
        self.sse(0x66, 0x28, dst, Rm::Reg(src));
    }

    /// `mov reg, imm64` (or `mov r32, imm32` when it fits: zero-extended).
    fn mov_imm(&mut self, reg: u8, imm: u64) {
        if let Ok(imm) = u32::try_from(imm) {
            if reg >= 8 {
                self.code.push(0x41);
            }
            self.code.push(0xB8 + (reg & 7));
            self.code.extend_from_slice(&imm.to_le_bytes());
        } else {
            self.code.push(0x48 | (reg >> 3));
            self.code.push(0xB8 + (reg & 7));
            self.code.extend_from_slice(&imm.to_le_bytes());
        }
    }

    /// `movq xmm, reg`.
    fn movq_to_xmm(&mut self, xmm: u8, reg: u8) {
        self.op(Some(0x66), true, &[0x0F, 0x6E], xmm, Rm::Reg(reg));
    }

    /// `xmm = bits` (through `rax`, which f64 code holds nothing in between nodes).
    fn xmm_const(&mut self, xmm: u8, bits: u64) {
        self.mov_imm(RAX, bits);
        self.movq_to_xmm(xmm, RAX);
    }

    /// Where f64 value `k` lives.
    fn loc(&self, k: usize) -> Rm {
        if k < VALUE_REGS {
            Rm::Reg(k as u8)
        } else {
            self.slot(k)
        }
    }

    /// `xmm = value k`.
    fn get(&mut self, xmm: u8, k: usize) {
        match self.loc(k) {
            Rm::Reg(r) if r == xmm => {}
            Rm::Reg(r) => self.movapd(xmm, r),
            at => self.movsd_load(xmm, at),
        }
    }

    /// `value k = xmm`.
    fn set(&mut self, k: usize, xmm: u8) {
        match self.loc(k) {
            Rm::Reg(r) if r == xmm => {}
            Rm::Reg(r) => self.movapd(r, xmm),
            at => self.movsd_store(at, xmm),
        }
    }

    /// The register that holds value `k` for an instruction that writes it: its own, or `S1`
    /// (loaded) for a value in memory; [`Self::put_back`] stores `S1` after.
    fn work(&mut self, k: usize) -> u8 {
        match self.loc(k) {
            Rm::Reg(r) => r,
            _ => {
                self.get(S1, k);
                S1
            }
        }
    }

    fn put_back(&mut self, k: usize, xmm: u8) {
        if xmm == S1 {
            self.set(k, S1);
        }
    }

    /// Pushes a callee-saved register (`rbx`, `r12`..`r15`, whose DWARF numbers are their
    /// encodings) and says where it is saved.
    fn push(&mut self, reg: u8) {
        if reg >= 8 {
            self.code.push(0x41);
        }
        self.code.push(0x50 + (reg & 7));
        self.cfi.sp_moved(self.code.len(), 8);
        self.cfi.saved(self.code.len(), reg, self.cfi.cfa());
    }

    fn pop(&mut self, reg: u8) {
        if reg >= 8 {
            self.code.push(0x41);
        }
        self.code.push(0x58 + (reg & 7));
        self.cfi.sp_moved(self.code.len(), -8);
        self.cfi.restored(self.code.len(), reg);
    }

    /// `sub rsp, n` / `add rsp, n` (n < 2^31).
    fn rsp_adjust(&mut self, sub: bool, n: usize) {
        if n == 0 {
            return;
        }
        let ext = if sub { 5 } else { 0 };
        self.op(None, true, &[0x81], ext, Rm::Reg(RSP));
        self.code.extend_from_slice(&(n as u32).to_le_bytes());
        let moved = n as isize;
        self.cfi
            .sp_moved(self.code.len(), if sub { moved } else { -moved });
    }

    /// A short forward jump (`opcode` is `EB` or a `7x` condition); returns where to patch.
    fn jump8(&mut self, opcode: u8) -> usize {
        self.code.extend_from_slice(&[opcode, 0]);
        self.code.len() - 1
    }

    /// Points the short jump at `at` to here.
    fn land8(&mut self, at: usize) {
        self.code[at] = (self.code.len() - at - 1) as u8;
    }

    /// `rax = rax op rcx`-style integer division of `a` (slot) by `b` (top), total: `a / 0` is -1,
    /// `a % 0` is `a`, `MIN / -1` is `MIN` and `MIN % -1` is 0, as the interpreter defines them.
    /// 64 bits wide if `w`.
    fn divide(&mut self, rem: bool, a: Rm, w: bool) {
        self.op(None, w, &[0x89], RAX, Rm::Reg(RCX)); // mov rcx, rax
        self.op(None, w, &[0x8B], RAX, a); // mov rax, a
        self.op(None, w, &[0x85], RCX, Rm::Reg(RCX)); // test rcx, rcx
        let zero = self.jump8(0x74); // jz
        self.op(None, w, &[0x83], 7, Rm::Reg(RCX)); // cmp rcx, -1
        self.code.push(0xFF);
        let minus_one = self.jump8(0x74); // je
        if w {
            self.code.extend_from_slice(&[0x48, 0x99]); // cqo
        } else {
            self.code.push(0x99); // cdq
        }
        self.op(None, w, &[0xF7], 7, Rm::Reg(RCX)); // idiv rcx
        if rem {
            self.op(None, w, &[0x89], RDX, Rm::Reg(RAX)); // mov rax, rdx
        }
        let done = self.jump8(0xEB);
        self.land8(zero);
        if !rem {
            self.op(None, w, &[0x83], 1, Rm::Reg(RAX)); // or rax, -1
            self.code.push(0xFF);
        }
        let done_too = self.jump8(0xEB);
        self.land8(minus_one);
        if rem {
            self.op(None, false, &[0x31], RAX, Rm::Reg(RAX)); // xor eax, eax
        } else {
            self.op(None, w, &[0xF7], 3, Rm::Reg(RAX)); // neg rax
        }
        self.land8(done);
        self.land8(done_too);
    }

    /// Stores the integer top (value `depth - 1`) into its slot: a value is about to be pushed.
    fn spill(&mut self, depth: usize) {
        if depth > 0 {
            let at = self.slot(depth - 1);
            self.op(None, true, &[0x89], RAX, at);
        }
    }

    /// Where variable `index` lies, given a free `rax` for a kernel's column pointer: `stride`
    /// bytes apart in a formula's memory (`Program::arg_slot`), `size` bytes each in a column.
    fn var_operand(&mut self, index: usize, stride: usize, size: u8) -> Rm {
        match self.shape {
            Shape::Formula(Args::Registers) => self.slot(self.values + index),
            Shape::Formula(Args::Memory) => Rm::Mem(Mem {
                base: RBX,
                index: None,
                disp: (stride * index) as i32,
            }),
            Shape::Kernel => {
                let column = Rm::Mem(Mem {
                    base: RBX,
                    index: None,
                    disp: (8 * index) as i32,
                });
                self.op(None, true, &[0x8B], RAX, column); // mov rax, [rbx + 8i]
                Rm::Mem(Mem {
                    base: RAX,
                    index: Some((R14, size)),
                    disp: 0,
                })
            }
        }
    }

    /// [`X64::var_operand`] for the formula's own type.
    fn var_of_type(&mut self, index: usize) -> Rm {
        let size = if self.ty == Ty::I32 { 4 } else { 8 };
        self.var_operand(index, size, size as u8)
    }
}

impl Emitter for X64 {
    fn new(ty: Ty, shape: Shape, program: &Program, out: Emitted) -> X64 {
        let vars = program.vars;
        let saved: &'static [u8] = match shape {
            Shape::Formula(Args::Registers) => &[],
            Shape::Formula(Args::Memory) => &[RBX],
            Shape::Kernel => &[RBX, R12, R13, R14],
        };
        let bytes = slot_bytes(program, shape);
        // At entry rsp is 8 below a multiple of 16; after the pushes and the frame, a call needs
        // it at a multiple of 16.
        let pushed = 8 + 8 * saved.len();
        let frame = (bytes + pushed).next_multiple_of(16) - pushed;
        X64 {
            // At entry the CFA is rsp + 8, the return address just below it (the CIE's rules).
            cfi: Cfi::new(out.cfi, out.code.len(), 1, 8),
            code: out.code,
            ty,
            shape,
            frame,
            values: program.max_stack,
            vars,
            saved,
            var_regs: vars_in_registers(program, shape),
            result: program.ty,
            float_args: super::float_args(program),
            loop_top: 0,
            loop_exit: 0,
        }
    }

    fn prologue(&mut self) {
        for &reg in self.saved {
            self.push(reg);
        }
        // Touch each page of a big frame in order, so the guard page below the stack is hit, not
        // stepped over.
        let mut left = self.frame;
        while left > PROBE {
            self.rsp_adjust(true, PROBE);
            let top = self.slot(0);
            self.op(None, false, &[0x83], 1, top); // or dword [rsp], 0
            self.code.push(0);
            left -= PROBE;
        }
        self.rsp_adjust(true, left);
        match self.shape {
            Shape::Formula(Args::Registers) if self.var_regs => {
                // Highest first: each argument moves up, above every argument not yet moved.
                for i in (0..self.vars).rev() {
                    self.movapd((self.values + i) as u8, i as u8);
                }
            }
            Shape::Formula(Args::Registers) => {
                // Integers arrive in INT_ARGS in order, floats in xmm0, xmm1, …: at most six
                // variables (`Params`), so all in registers.
                let (mut ints, mut floats) = (0, 0);
                for i in 0..self.vars.min(8) {
                    let at = self.slot(self.values + i);
                    if self.float_args >> i & 1 == 1 {
                        self.movsd_store(at, floats);
                        floats += 1;
                    } else if let Some(&reg) = INT_ARGS.get(ints) {
                        self.op(None, true, &[0x89], reg, at);
                        ints += 1;
                    }
                }
            }
            Shape::Formula(Args::Memory) => self.op(None, true, &[0x89], RDI, Rm::Reg(RBX)),
            Shape::Kernel => {
                self.op(None, true, &[0x89], RDI, Rm::Reg(RBX));
                self.op(None, true, &[0x89], RSI, Rm::Reg(R12));
                self.op(None, true, &[0x89], RDX, Rm::Reg(R13));
                self.op(None, false, &[0x31], R14, Rm::Reg(R14)); // xor r14d, r14d
                self.loop_top = self.code.len();
                self.op(None, true, &[0x39], R13, Rm::Reg(R14)); // cmp r14, r13
                self.code.extend_from_slice(&[0x0F, 0x83, 0, 0, 0, 0]); // jae exit
                self.loop_exit = self.code.len() - 4;
                if self.var_regs {
                    for i in 0..self.vars {
                        let at = self.var_of_type(i);
                        self.movsd_load((self.values + i) as u8, at);
                    }
                }
            }
        }
    }

    fn var(&mut self, index: usize, depth: usize) {
        if self.var_regs {
            return self.set(depth, (self.values + index) as u8);
        }
        if self.ty == Ty::F64 {
            let at = self.var_of_type(index);
            match self.loc(depth) {
                Rm::Reg(r) => self.movsd_load(r, at),
                slot => {
                    self.movsd_load(S1, at);
                    self.movsd_store(slot, S1);
                }
            }
            return;
        }
        self.spill(depth);
        let at = self.var_of_type(index);
        let w = self.wide();
        self.op(None, w, &[0x8B], RAX, at);
    }

    fn literal(&mut self, bits: u64, depth: usize) {
        match self.ty {
            Ty::F64 => {
                self.xmm_const(S1, bits);
                self.set(depth, S1);
            }
            Ty::I64 => {
                self.spill(depth);
                self.mov_imm(RAX, bits);
            }
            // Single-type programs are of the three formula types only.
            Ty::I32 | Ty::Bool | Ty::F32 => {
                self.spill(depth);
                self.mov_imm(RAX, bits & 0xFFFF_FFFF);
            }
        }
    }

    fn unary(&mut self, op: Unary, depth: usize) {
        let w = self.wide();
        let k = depth - 1;
        match op {
            Unary::Neg if self.ty != Ty::F64 => self.op(None, w, &[0xF7], 3, Rm::Reg(RAX)),
            Unary::Not => self.op(None, w, &[0xF7], 2, Rm::Reg(RAX)),
            Unary::Neg | Unary::Abs => {
                let (mask, opcode) = match op {
                    Unary::Neg => (1 << 63, 0x57), // xorpd: the sign flipped
                    _ => (!(1 << 63), 0x54),       // andpd: the sign cleared
                };
                self.xmm_const(S3, mask);
                let r = self.work(k);
                self.sse(0x66, opcode, r, Rm::Reg(S3));
                self.put_back(k, r);
            }
            Unary::Sqrt => {
                let r = self.work(k);
                self.sse(0xF2, 0x51, r, Rm::Reg(r));
                self.put_back(k, r);
            }
        }
    }

    fn binary(&mut self, op: BinOp, depth: usize) {
        let (ka, kb) = (depth - 2, depth - 1);
        if self.ty == Ty::F64 {
            // `cmpsd` predicates: 0 equal, 1 less, 2 less or equal, 4 not equal (or unordered).
            let (opcode, predicate) = match op {
                BinOp::Add => (0x58, None),
                BinOp::Mul => (0x59, None),
                BinOp::Sub => (0x5C, None),
                BinOp::Div => (0x5E, None),
                BinOp::Lt | BinOp::Gt => (0xC2, Some(1)),
                BinOp::Le | BinOp::Ge => (0xC2, Some(2)),
                BinOp::Eq => (0xC2, Some(0)),
                // `%` and `**` are calls; the parser refuses bit operators in f64 formulas.
                _ => (0xC2, Some(4)),
            };
            let swap = matches!(op, BinOp::Gt | BinOp::Ge);
            let r = if swap {
                // a > b is b < a: compute it in S1 from b, then it becomes value a.
                self.get(S1, kb);
                let a = self.loc(ka);
                self.sse(0xF2, opcode, S1, a);
                S1
            } else {
                let r = self.work(ka);
                let b = self.loc(kb);
                self.sse(0xF2, opcode, r, b);
                r
            };
            if let Some(p) = predicate {
                self.code.push(p);
                // The comparison's mask, as 1.0 or 0.0.
                self.xmm_const(S3, 1f64.to_bits());
                self.sse(0x66, 0x54, r, Rm::Reg(S3)); // andpd
            }
            if r == S1 {
                self.set(ka, S1);
            }
            return;
        }
        let a = self.slot(ka);
        let w = self.wide();
        match op {
            BinOp::Add => self.op(None, w, &[0x03], RAX, a),
            BinOp::Mul => self.op(None, w, &[0x0F, 0xAF], RAX, a),
            BinOp::And => self.op(None, w, &[0x23], RAX, a),
            BinOp::Or => self.op(None, w, &[0x0B], RAX, a),
            BinOp::Xor => self.op(None, w, &[0x33], RAX, a),
            BinOp::Sub | BinOp::Shl | BinOp::Sar | BinOp::Shr => {
                self.op(None, w, &[0x89], RAX, Rm::Reg(RCX)); // mov rcx, rax
                self.op(None, w, &[0x8B], RAX, a); // mov rax, a
                match op {
                    BinOp::Sub => self.op(None, w, &[0x29], RCX, Rm::Reg(RAX)), // sub rax, rcx
                    BinOp::Shl => self.op(None, w, &[0xD3], 4, Rm::Reg(RAX)),   // shl rax, cl
                    BinOp::Shr => self.op(None, w, &[0xD3], 5, Rm::Reg(RAX)),   // shr rax, cl
                    _ => self.op(None, w, &[0xD3], 7, Rm::Reg(RAX)),            // sar rax, cl
                }
            }
            BinOp::Div => self.divide(false, a, w),
            BinOp::Rem => self.divide(true, a, w),
            // The parser refuses `**` and comparisons in integer formulas.
            _ => {}
        }
    }

    fn select(&mut self, depth: usize) {
        let (kc, ka, kb) = (depth - 3, depth - 2, depth - 1);
        if self.ty == Ty::F64 {
            self.get(S1, kc);
            self.sse(0x66, 0x57, S2, Rm::Reg(S2)); // xorpd S2, S2
            self.sse(0xF2, 0xC2, S1, Rm::Reg(S2)); // cmpneqsd S1, S2: c != 0, or NaN
            self.code.push(4);
            self.get(S2, ka);
            self.sse(0x66, 0x54, S2, Rm::Reg(S1)); // andpd S2, S1: a where true
            self.get(S3, kb);
            self.sse(0x66, 0x55, S1, Rm::Reg(S3)); // andnpd S1, S3: b where false
            self.sse(0x66, 0x56, S1, Rm::Reg(S2)); // orpd S1, S2
            self.set(kc, S1);
        } else {
            let (c, a) = (self.slot(kc), self.slot(ka));
            let w = self.wide();
            self.op(None, w, &[0x8B], RCX, c); // mov rcx, c
            self.op(None, w, &[0x85], RCX, Rm::Reg(RCX)); // test rcx, rcx
            self.op(None, w, &[0x0F, 0x45], RAX, a); // cmovne rax, a
        }
    }

    fn call(&mut self, address: usize, arity: usize, depth: usize) {
        // Every xmm may be clobbered: the values below the arguments wait in their slots.
        let first = depth - arity;
        for k in 0..first.min(VALUE_REGS) {
            let slot = self.slot(k);
            self.movsd_store(slot, k as u8);
        }
        // Argument i comes from value first + i, never from a lower register: in this order no
        // move overwrites an argument not yet moved.
        for (arg, k) in (first..depth).enumerate() {
            self.get(arg as u8, k);
        }
        self.mov_imm(RAX, address as u64);
        self.code.extend_from_slice(&[0xFF, 0xD0]); // call rax
        self.set(first, 0);
        for k in 0..first.min(VALUE_REGS) {
            let slot = self.slot(k);
            self.movsd_load(k as u8, slot);
        }
    }

    fn epilogue(&mut self) {
        if self.shape == Shape::Kernel {
            let out = Rm::Mem(Mem {
                base: R12,
                index: Some((R14, clif_type(self.result).bytes() as u8)),
                disp: 0,
            });
            self.put_value(self.result, out);
            self.op(None, true, &[0xFF], 0, Rm::Reg(R14)); // inc r14
            let back = self.loop_top as i64 - (self.code.len() as i64 + 5);
            self.code.push(0xE9); // jmp loop_top
            self.code.extend_from_slice(&(back as i32).to_le_bytes());
            let exit = (self.code.len() - self.loop_exit - 4) as u32;
            let at = self.loop_exit;
            self.code[at..at + 4].copy_from_slice(&exit.to_le_bytes());
            self.op(None, true, &[0x89], R13, Rm::Reg(RAX)); // mov rax, r13
        }
        self.rsp_adjust(false, self.frame);
        for &reg in self.saved.iter().rev() {
            self.pop(reg);
        }
        self.code.push(0xC3);
    }

    fn finish(self) -> Emitted {
        Emitted {
            code: self.code,
            cfi: self.cfi.finish(),
        }
    }
}
