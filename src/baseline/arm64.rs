//! The baseline emitter for AArch64 (AAPCS64, and Apple's variant, which agrees for these
//! signatures). f64 value `k` lives in `d<16 + k>` for `k` < 13, else in the 8-byte slot
//! `[sp + 8k]`; `d29..31` are scratch. Integers keep the top in `x0`/`w0` and the rest in slots;
//! `x1`, `x2`, `x9`, `x16` and `x17` are scratch. `v16..31` are caller-saved, so a call of a Rust
//! math function saves the values in registers to their slots first and reloads them after. A
//! formula from memory keeps its argument pointer in `x19`; a kernel keeps the column table, the
//! output, the length and the row in `x19` to `x22`, all callee-saved. `x18` (the platform
//! register) is never touched.

mod typed;

use super::cfi::Cfi;
use super::{Emitted, Emitter, PROBE, Shape, Unary, VALUE_REGS, slot_bytes, vars_in_registers};
use crate::expr::{Args, BinOp, Program, Ty};

const SP: u32 = 31;
const ZR: u32 = 31;
/// The stack pointer, as a base register.
const X_SP: u32 = 31;
const X19: u32 = 19;
const X20: u32 = 20;
const X21: u32 = 21;
const X22: u32 = 22;
/// Where an offset too big for an immediate is built.
const X17: u32 = 17;
/// f64 value `k` lives in `d<FIRST + k>`; `d29..31` are scratch.
const FIRST: u32 = 16;
const S1: u32 = 29;
const S2: u32 = 30;

// Condition codes.
const EQ: u32 = 0;
const NE: u32 = 1;
const HS: u32 = 2;
const MI: u32 = 4;
const LS: u32 = 9;
const GE: u32 = 10;
const GT: u32 = 12;

/// How a load or store reaches memory: base plus a byte offset, or base plus a register scaled by
/// the access size.
#[derive(Clone, Copy)]
enum Addr {
    Offset(u32, usize),
    Scaled(u32, u32),
}

/// A load or store's kind: 8-, 4- or 1-byte integer (a byte zero-extended), or 8- or 4-byte
/// float.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    X,
    W,
    B,
    D,
    S,
}

impl Kind {
    fn size(self) -> usize {
        match self {
            Kind::X | Kind::D => 8,
            Kind::W | Kind::S => 4,
            Kind::B => 1,
        }
    }

    /// The kind of a value of type `ty`.
    fn of(ty: Ty) -> Kind {
        match ty {
            Ty::Bool => Kind::B,
            Ty::I32 => Kind::W,
            Ty::I64 => Kind::X,
            Ty::F32 => Kind::S,
            Ty::F64 => Kind::D,
        }
    }
}

pub(crate) struct Arm64 {
    code: Vec<u8>,
    cfi: Cfi,
    ty: Ty,
    shape: Shape,
    frame: usize,
    values: usize,
    vars: usize,
    /// Variable `i` lives in `d<FIRST + values + i>` (`super::vars_in_registers`).
    var_regs: bool,
    /// The program's type; whether it mixes types (`../typed.rs`: its result is in `x0` or
    /// `v0`); which of its first 8 variables are floats (bit `i`), which arrive in the next `v`
    /// register rather than the next integer one.
    result: Ty,
    typed: bool,
    float_args: u8,
    loop_top: usize,
    loop_exit: usize,
}

impl Arm64 {
    fn put(&mut self, word: u32) {
        self.code.extend_from_slice(&word.to_le_bytes());
    }

    /// `sf`: the 64-bit form of an integer instruction.
    fn sf(&self) -> u32 {
        if self.ty == Ty::I32 { 0 } else { 1 << 31 }
    }

    /// The kind of the formula's values.
    fn kind(&self) -> Kind {
        match self.ty {
            // Single-type programs are of the three formula types only.
            Ty::I32 | Ty::Bool | Ty::F32 => Kind::W,
            Ty::I64 => Kind::X,
            Ty::F64 => Kind::D,
        }
    }

    /// `xd = imm` with `movz`/`movk`.
    fn mov_imm(&mut self, d: u32, imm: u64) {
        self.put(0xD280_0000 | ((imm & 0xFFFF) as u32) << 5 | d);
        for hw in 1..4u32 {
            let part = ((imm >> (16 * hw)) & 0xFFFF) as u32;
            if part != 0 {
                self.put(0xF280_0000 | hw << 21 | part << 5 | d);
            }
        }
    }

    /// A load (`store == false`) or store of register `t` of `kind` at `addr`.
    fn access(&mut self, store: bool, kind: Kind, t: u32, addr: Addr) {
        let (imm_op, reg_op) = match (kind, store) {
            (Kind::X, false) => (0xF940_0000, 0xF860_6800),
            (Kind::X, true) => (0xF900_0000, 0xF820_6800),
            (Kind::W, false) => (0xB940_0000, 0xB860_6800),
            (Kind::W, true) => (0xB900_0000, 0xB820_6800),
            (Kind::B, false) => (0x3940_0000, 0x3860_6800),
            (Kind::B, true) => (0x3900_0000, 0x3820_6800),
            (Kind::D, false) => (0xFD40_0000, 0xFC60_6800),
            (Kind::D, true) => (0xFD00_0000, 0xFC20_6800),
            (Kind::S, false) => (0xBD40_0000, 0xBC60_6800),
            (Kind::S, true) => (0xBD00_0000, 0xBC20_6800),
        };
        match addr {
            Addr::Offset(n, offset) if offset / kind.size() < 4096 => {
                let imm = (offset / kind.size()) as u32;
                self.put(imm_op | imm << 10 | n << 5 | t);
            }
            Addr::Offset(n, offset) => {
                self.mov_imm(X17, offset as u64);
                self.put(reg_op | X17 << 16 | n << 5 | t);
            }
            // S = 1: the index register is scaled by the access size.
            Addr::Scaled(n, m) => self.put(reg_op | 0x1000 | m << 16 | n << 5 | t),
        }
    }

    fn slot(&self, k: usize) -> Addr {
        Addr::Offset(SP, 8 * k)
    }

    /// `sub sp, sp, n` or `add sp, sp, n` (n < 2^24).
    fn sp_adjust(&mut self, sub: bool, n: usize) {
        let op = if sub { 0xD100_03FF } else { 0x9100_03FF };
        let (high, low) = ((n >> 12) as u32, (n & 0xFFF) as u32);
        let sign = if sub { 1 } else { -1 };
        if high != 0 {
            self.put(op | 1 << 22 | high << 10);
            self.cfi
                .sp_moved(self.code.len(), sign * ((high as isize) << 12));
        }
        if low != 0 {
            self.put(op | low << 10);
            self.cfi.sp_moved(self.code.len(), sign * low as isize);
        }
    }

    /// `stp a, b, [sp, #-16]!`, saying where `a` and `b` (DWARF numbers are register numbers)
    /// are saved.
    fn push_pair(&mut self, a: u32, b: u32) {
        self.put(0xA9BF_0000 | b << 10 | X_SP << 5 | a);
        self.cfi.sp_moved(self.code.len(), 16);
        let cfa = self.cfi.cfa();
        self.cfi.saved(self.code.len(), a as u8, cfa);
        self.cfi.saved(self.code.len(), b as u8, cfa - 8);
    }

    /// `ldp a, b, [sp], #16`: the pair that [`Arm64::push_pair`] saved, restored.
    fn pop_pair(&mut self, a: u32, b: u32) {
        self.put(0xA8C1_0000 | b << 10 | X_SP << 5 | a);
        self.cfi.sp_moved(self.code.len(), -16);
        self.cfi.restored(self.code.len(), a as u8);
        self.cfi.restored(self.code.len(), b as u8);
    }

    /// An integer instruction of three registers: `op d, n, m`.
    fn int3(&mut self, op: u32, d: u32, n: u32, m: u32) {
        let sf = self.sf();
        self.put(sf | op | m << 16 | n << 5 | d);
    }

    /// `d = cond ? 1.0 : 0.0` after an `fcmp`.
    fn truth(&mut self, d: u32, cond: u32) {
        self.put(0x1E6E_1000 | d); // fmov d, #1.0
        self.put(0x9E67_03E0 | S2); // fmov S2, xzr
        self.put(0x1E60_0C00 | S2 << 16 | cond << 12 | d << 5 | d); // fcsel d, d, S2, cond
    }

    /// The register of variable `i` when variables live in registers.
    fn var_reg(&self, i: usize) -> u32 {
        FIRST + (self.values + i) as u32
    }

    /// The register of f64 value `k`, if it has one.
    fn reg(&self, k: usize) -> Option<u32> {
        (k < VALUE_REGS).then_some(FIRST + k as u32)
    }

    /// `fmov d, n` (nothing if they are one register).
    fn fmov(&mut self, d: u32, n: u32) {
        if d != n {
            self.put(0x1E60_4000 | n << 5 | d);
        }
    }

    /// `d = value k`.
    fn get(&mut self, d: u32, k: usize) {
        match self.reg(k) {
            Some(r) => self.fmov(d, r),
            None => self.access(false, Kind::D, d, self.slot(k)),
        }
    }

    /// `value k = d`.
    fn set(&mut self, k: usize, d: u32) {
        match self.reg(k) {
            Some(r) => self.fmov(r, d),
            None => self.access(true, Kind::D, d, self.slot(k)),
        }
    }

    /// The register to read value `k` from: its own, or `scratch` loaded with it.
    fn read(&mut self, k: usize, scratch: u32) -> u32 {
        match self.reg(k) {
            Some(r) => r,
            None => {
                self.get(scratch, k);
                scratch
            }
        }
    }

    /// The register to write value `k` to: its own, or `S1` ([`Self::set`] it after).
    fn dest(&self, k: usize) -> u32 {
        self.reg(k).unwrap_or(S1)
    }

    /// Stores the integer top (value `depth - 1`) into its slot: a value is about to be pushed.
    fn spill(&mut self, depth: usize) {
        if depth > 0 {
            let at = self.slot(depth - 1);
            self.access(true, Kind::X, 0, at);
        }
    }

    /// Register `t` = variable `index`, of `kind`: `stride` bytes apart in a formula's memory
    /// (`Program::arg_slot`); through `x9`, the column pointer, in a kernel.
    fn load_var_as(&mut self, kind: Kind, t: u32, index: usize, stride: usize) {
        match self.shape {
            Shape::Formula(Args::Registers) => {
                let at = self.slot(self.values + index);
                self.access(false, kind, t, at);
            }
            Shape::Formula(Args::Memory) => {
                self.access(false, kind, t, Addr::Offset(X19, stride * index));
            }
            Shape::Kernel => {
                self.access(false, Kind::X, 9, Addr::Offset(X19, 8 * index)); // x9 = column
                self.access(false, kind, t, Addr::Scaled(9, X22));
            }
        }
    }

    /// The branch at `at` (a `b.cond` when `cond` is set), pointed at here.
    fn land(&mut self, at: usize, cond: Option<u32>) {
        let words = ((self.code.len() - at) / 4) as u32;
        let word = match cond {
            Some(cond) => 0x5400_0000 | (words & 0x7_FFFF) << 5 | cond,
            None => 0x1400_0000 | (words & 0x3FF_FFFF),
        };
        self.code[at..at + 4].copy_from_slice(&word.to_le_bytes());
    }
}

impl Emitter for Arm64 {
    fn new(ty: Ty, shape: Shape, program: &Program, out: Emitted) -> Arm64 {
        Arm64 {
            // At entry the CFA is sp, the return address in x30 (the CIE's rules).
            cfi: Cfi::new(out.cfi, out.code.len(), 4, 0),
            code: out.code,
            ty,
            shape,
            frame: slot_bytes(program, shape).next_multiple_of(16),
            values: program.max_stack,
            vars: program.vars,
            var_regs: vars_in_registers(program, shape),
            result: program.ty,
            typed: program.single_type().is_none(),
            float_args: super::float_args(program),
            loop_top: 0,
            loop_exit: 0,
        }
    }

    fn prologue(&mut self) {
        self.push_pair(29, 30); // stp x29, x30, [sp, #-16]!
        self.put(0x9100_03FD); // mov x29, sp
        if self.shape != Shape::Formula(Args::Registers) {
            self.push_pair(X19, X20); // stp x19, x20, [sp, #-16]!
            self.push_pair(X21, X22); // stp x21, x22, [sp, #-16]!
        }
        let mut left = self.frame;
        while left > PROBE {
            self.sp_adjust(true, PROBE);
            self.put(0xF900_03FF); // str xzr, [sp]
            left -= PROBE;
        }
        self.sp_adjust(true, left);
        match self.shape {
            Shape::Formula(Args::Registers) if self.var_regs => {
                for i in 0..self.vars {
                    self.fmov(self.var_reg(i), i as u32);
                }
            }
            Shape::Formula(Args::Registers) => {
                // Integers arrive in x0, x1, …, floats in v0, v1, …: at most six variables
                // (`Params`), so all in registers.
                let (mut ints, mut floats) = (0, 0);
                for i in 0..self.vars.min(8) {
                    let at = self.slot(self.values + i);
                    if self.float_args >> i & 1 == 1 {
                        self.access(true, Kind::D, floats, at);
                        floats += 1;
                    } else {
                        self.access(true, Kind::X, ints, at);
                        ints += 1;
                    }
                }
            }
            Shape::Formula(Args::Memory) => self.put(0xAA00_03E0 | X19), // mov x19, x0
            Shape::Kernel => {
                self.put(0xAA00_03E0 | X19); // mov x19, x0
                self.put(0xAA00_03E0 | 1 << 16 | X20); // mov x20, x1
                self.put(0xAA00_03E0 | 2 << 16 | X21); // mov x21, x2
                self.put(0xD280_0000 | X22); // movz x22, #0
                self.loop_top = self.code.len();
                self.put(0xEB00_001F | X21 << 16 | X22 << 5); // cmp x22, x21
                self.loop_exit = self.code.len();
                self.put(0); // b.hs exit, patched in the epilogue
                if self.var_regs {
                    for i in 0..self.vars {
                        self.access(false, Kind::X, 9, Addr::Offset(X19, 8 * i)); // x9 = column
                        let d = self.var_reg(i);
                        self.access(false, Kind::D, d, Addr::Scaled(9, X22));
                    }
                }
            }
        }
    }

    fn var(&mut self, index: usize, depth: usize) {
        if self.var_regs {
            let r = self.var_reg(index);
            return self.set(depth, r);
        }
        let kind = self.kind();
        let t = if kind == Kind::D {
            self.dest(depth)
        } else {
            self.spill(depth);
            0
        };
        self.load_var_as(kind, t, index, kind.size());
        if kind == Kind::D {
            self.set(depth, t);
        }
    }

    fn literal(&mut self, bits: u64, depth: usize) {
        match self.ty {
            Ty::F64 => {
                self.mov_imm(9, bits);
                let d = self.dest(depth);
                self.put(0x9E67_0120 | d); // fmov d, x9
                self.set(depth, d);
            }
            Ty::I64 => {
                self.spill(depth);
                self.mov_imm(0, bits);
            }
            // Single-type programs are of the three formula types only.
            Ty::I32 | Ty::Bool | Ty::F32 => {
                self.spill(depth);
                self.mov_imm(0, bits & 0xFFFF_FFFF);
            }
        }
    }

    fn unary(&mut self, op: Unary, depth: usize) {
        let sf = self.sf();
        let op = match op {
            Unary::Neg if self.ty != Ty::F64 => return self.put(sf | 0x4B00_03E0), // neg x0, x0
            Unary::Not => return self.put(sf | 0x2A20_03E0),                       // mvn x0, x0
            Unary::Neg => 0x1E61_4000,                                             // fneg
            Unary::Abs => 0x1E60_C000,                                             // fabs
            Unary::Sqrt => 0x1E61_C000,                                            // fsqrt
        };
        let k = depth - 1;
        let n = self.read(k, S1);
        let d = self.dest(k);
        self.put(op | n << 5 | d);
        self.set(k, d);
    }

    fn binary(&mut self, op: BinOp, depth: usize) {
        let (ka, kb) = (depth - 2, depth - 1);
        if self.ty == Ty::F64 {
            let (n, m) = (self.read(ka, S1), self.read(kb, S2));
            let d = self.dest(ka);
            let arith = |op: u32| 0x1E60_0000 | op | m << 16 | n << 5 | d; // op d, a, b
            let cond = match op {
                BinOp::Add => Err(arith(0x2800)),
                BinOp::Sub => Err(arith(0x3800)),
                BinOp::Mul => Err(arith(0x0800)),
                BinOp::Div => Err(arith(0x1800)),
                BinOp::Lt => Ok(MI),
                BinOp::Le => Ok(LS),
                BinOp::Gt => Ok(GT),
                BinOp::Ge => Ok(GE),
                BinOp::Eq => Ok(EQ),
                // `%` and `**` are calls; the parser refuses bit operators in f64 formulas.
                _ => Ok(NE),
            };
            match cond {
                Err(word) => self.put(word),
                Ok(cond) => {
                    self.put(0x1E60_2000 | m << 16 | n << 5); // fcmp a, b (unordered: only NE)
                    self.truth(d, cond);
                }
            }
            return self.set(ka, d);
        }
        let a = self.slot(ka);
        let kind = self.kind();
        self.access(false, kind, 1, a); // x1 = a; x0 = b
        match op {
            BinOp::Add => self.int3(0x0B00_0000, 0, 1, 0),
            BinOp::Sub => self.int3(0x4B00_0000, 0, 1, 0),
            BinOp::Mul => self.int3(0x1B00_7C00, 0, 1, 0),
            BinOp::And => self.int3(0x0A00_0000, 0, 1, 0),
            BinOp::Or => self.int3(0x2A00_0000, 0, 1, 0),
            BinOp::Xor => self.int3(0x4A00_0000, 0, 1, 0),
            // The shift amount is taken modulo the width, as the interpreter's.
            BinOp::Shl => self.int3(0x1AC0_2000, 0, 1, 0),
            BinOp::Shr => self.int3(0x1AC0_2400, 0, 1, 0),
            BinOp::Sar => self.int3(0x1AC0_2800, 0, 1, 0),
            // `sdiv` gives 0 for a zero divisor and MIN for MIN / -1: only `a / 0` needs -1.
            BinOp::Div => {
                self.int3(0x1AC0_0C00, 2, 1, 0); // sdiv x2, x1, x0
                let sf = self.sf();
                self.put(sf | 0x7100_001F); // cmp x0, #0
                self.int3(0x5A80_0000 | NE << 12, 0, 2, ZR); // csinv x0, x2, xzr, ne
            }
            // a - (a / b) * b: a when b is 0 (the quotient is 0), 0 for MIN % -1.
            BinOp::Rem => {
                self.int3(0x1AC0_0C00, 2, 1, 0); // sdiv x2, x1, x0
                self.int3(0x1B00_8000 | 1 << 10, 0, 2, 0); // msub x0, x2, x0, x1
            }
            // The parser refuses `**` and comparisons in integer formulas.
            _ => {}
        }
    }

    fn select(&mut self, depth: usize) {
        let (kc, ka, kb) = (depth - 3, depth - 2, depth - 1);
        if self.ty == Ty::F64 {
            let c = self.read(kc, S1);
            self.put(0x1E60_2008 | c << 5); // fcmp c, #0.0 (NaN: NE holds)
            let (a, b) = (self.read(ka, S1), self.read(kb, S2));
            let d = self.dest(kc);
            self.put(0x1E60_0C00 | b << 16 | NE << 12 | a << 5 | d); // fcsel d, a, b, ne
            self.set(kc, d);
        } else {
            let (c, a) = (self.slot(kc), self.slot(ka));
            let kind = self.kind();
            self.access(false, kind, 1, c);
            self.access(false, kind, 2, a);
            let sf = self.sf();
            self.put(sf | 0x7100_001F | 1 << 5); // cmp x1, #0
            self.int3(0x1A80_0000 | NE << 12, 0, 2, 0); // csel x0, x2, x0, ne
        }
    }

    fn call(&mut self, address: usize, arity: usize, depth: usize) {
        // v16..31 may be clobbered: the values below the arguments wait in their slots.
        let first = depth - arity;
        for k in 0..first.min(VALUE_REGS) {
            let slot = self.slot(k);
            self.access(true, Kind::D, FIRST + k as u32, slot);
        }
        for (arg, k) in (first..depth).enumerate() {
            self.get(arg as u32, k);
        }
        self.mov_imm(16, address as u64);
        self.put(0xD63F_0200); // blr x16
        self.set(first, 0);
        for k in 0..first.min(VALUE_REGS) {
            let slot = self.slot(k);
            self.access(false, Kind::D, FIRST + k as u32, slot);
        }
    }

    fn epilogue(&mut self) {
        let result = if self.ty == Ty::F64 && !self.typed {
            FIRST
        } else {
            0
        };
        if self.shape == Shape::Kernel {
            let kind = Kind::of(self.result);
            self.access(true, kind, result, Addr::Scaled(X20, X22));
            self.put(0x9100_0400 | X22 << 5 | X22); // add x22, x22, #1
            let back = (self.loop_top as i64 - self.code.len() as i64) / 4;
            self.put(0x1400_0000 | (back as u32 & 0x3FF_FFFF)); // b loop_top
            let exit = self.loop_exit;
            self.land(exit, Some(HS));
            self.put(0xAA00_03E0 | X21 << 16); // mov x0, x21
        }
        if self.shape != Shape::Kernel {
            self.fmov(0, result); // the f64 result to d0 (integers are in x0 already)
        }
        self.sp_adjust(false, self.frame);
        if self.shape != Shape::Formula(Args::Registers) {
            self.pop_pair(X21, X22); // ldp x21, x22, [sp], #16
            self.pop_pair(X19, X20); // ldp x19, x20, [sp], #16
        }
        self.pop_pair(29, 30); // ldp x29, x30, [sp], #16
        self.put(0xD65F_03C0); // ret
    }

    fn finish(self) -> Emitted {
        Emitted {
            code: self.code,
            cfi: self.cfi.finish(),
        }
    }
}
