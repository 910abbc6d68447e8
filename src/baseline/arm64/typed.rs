//! Typed programs on AArch64 (`../typed.rs`): operand `r` in `x<r>` or `v<r>`; `x9`, `x10` and
//! `x16` are scratch.

use super::{Arm64, EQ, GE, GT, HS, Kind, LS, MI, NE, ZR};
use crate::baseline::typed::TypedEmitter;
use crate::expr::{BinOp, Func, Node, Test, Ty, UnOp, float_division};

const LO: u32 = 3;
const HI: u32 = 8;
const LT: u32 = 11;
const LE: u32 = 13;

/// `sf`: the 64-bit form of an integer instruction on `ty`.
fn sf(ty: Ty) -> u32 {
    if ty == Ty::I64 { 1 << 31 } else { 0 }
}

/// The `type` field of a float instruction on `ty`: single or double.
fn ftype(ty: Ty) -> u32 {
    if ty == Ty::F64 { 1 << 22 } else { 0 }
}

impl Arm64 {
    /// `op d, n, m` of integers, 64 bits wide for an `i64`.
    fn int(&mut self, ty: Ty, op: u32, d: u32, n: u32, m: u32) {
        self.put(sf(ty) | op | m << 16 | n << 5 | d);
    }

    /// `cset wd, cond`: 1 if `cond` holds, else 0.
    fn cset(&mut self, d: u32, cond: u32) {
        self.put(0x1A9F_07E0 | (cond ^ 1) << 12 | d); // csinc wd, wzr, wzr, !cond
    }

    /// `cmp xn, #0` (`wn` unless `ty` is `i64`).
    fn cmp_zero(&mut self, ty: Ty, n: u32) {
        self.put(sf(ty) | 0x7100_001F | n << 5);
    }

    /// A call of the Rust function at `address`, its arguments in `v0` and `v1` already; its
    /// result lands in `v0`. Nothing else lives in a register.
    fn call_rust(&mut self, address: usize) {
        self.mov_imm(16, address as u64);
        self.put(0xD63F_0200); // blr x16
    }

    /// `x0 = x0 op x1` for an integer (or `bool`) `ty`.
    fn int_binary(&mut self, op: BinOp, ty: Ty) {
        if op.is_comparison() {
            let cond = match (op, ty == Ty::Bool) {
                (BinOp::Lt, true) => LO,
                (BinOp::Le, true) => LS,
                (BinOp::Gt, true) => HI,
                (BinOp::Ge, true) => HS,
                (BinOp::Lt, false) => LT,
                (BinOp::Le, false) => LE,
                (BinOp::Gt, false) => GT,
                (BinOp::Ge, false) => GE,
                (BinOp::Eq, _) => EQ,
                _ => NE,
            };
            self.int(ty, 0x6B00_001F, 0, 0, 1); // cmp x0, x1
            return self.cset(0, cond);
        }
        match op {
            BinOp::Add => self.int(ty, 0x0B00_0000, 0, 0, 1),
            BinOp::Sub => self.int(ty, 0x4B00_0000, 0, 0, 1),
            BinOp::Mul => self.int(ty, 0x1B00_7C00, 0, 0, 1),
            BinOp::And => self.int(ty, 0x0A00_0000, 0, 0, 1),
            BinOp::Or => self.int(ty, 0x2A00_0000, 0, 0, 1),
            BinOp::Xor => self.int(ty, 0x4A00_0000, 0, 0, 1),
            // The shift amount is taken modulo the width, as the interpreter's.
            BinOp::Shl => self.int(ty, 0x1AC0_2000, 0, 0, 1),
            BinOp::Shr => self.int(ty, 0x1AC0_2400, 0, 0, 1),
            BinOp::Sar => self.int(ty, 0x1AC0_2800, 0, 0, 1),
            // `sdiv` gives 0 for a zero divisor and MIN for MIN / -1: only `a / 0` needs -1.
            BinOp::Div => {
                self.int(ty, 0x1AC0_0C00, 2, 0, 1); // sdiv x2, x0, x1
                self.cmp_zero(ty, 1);
                self.int(ty, 0x5A80_0000 | NE << 12, 0, 2, ZR); // csinv x0, x2, xzr, ne
            }
            // a - (a / b) * b: a when b is 0 (the quotient is 0), 0 for MIN % -1.
            BinOp::Rem => {
                self.int(ty, 0x1AC0_0C00, 2, 0, 1); // sdiv x2, x0, x1
                self.int(ty, 0x1B00_8000, 0, 2, 1); // msub x0, x2, x1, x0
            }
            // NumPy's: the truncated quotient and remainder, corrected when the remainder is
            // nonzero and its sign differs from the divisor's; 0 for a zero divisor.
            BinOp::FloorDiv | BinOp::Mod => {
                self.int(ty, 0x1AC0_0C00, 2, 0, 1); // sdiv x2, x0, x1: q
                self.int(ty, 0x1B00_8000, 9, 2, 1); // msub x9, x2, x1, x0: r
                self.int(ty, 0x4A00_0000, 10, 9, 1); // eor x10, x9, x1
                self.cmp_zero(ty, 9);
                // ccmp x10, #0, #0, ne: flags of x10 when r != 0; else none set (LT fails).
                self.put(sf(ty) | 0x7A40_0800 | NE << 12 | 10 << 5);
                if op == BinOp::FloorDiv {
                    self.put(sf(ty) | 0x5100_0400 | 2 << 5 | 10); // sub x10, x2, #1
                    self.int(ty, 0x1A80_0000 | LT << 12, 0, 10, 2); // csel x0, x10, x2, lt
                } else {
                    self.int(ty, 0x0B00_0000, 10, 9, 1); // add x10, x9, x1
                    self.int(ty, 0x1A80_0000 | LT << 12, 0, 10, 9); // csel x0, x10, x9, lt
                }
                self.cmp_zero(ty, 1);
                self.int(ty, 0x1A80_0000 | EQ << 12, 0, ZR, 0); // csel x0, xzr, x0, eq
            }
            // The parser gives `**` a float type, and a `bool` only logic and comparisons.
            _ => {}
        }
    }

    /// `v0 = v0 op v1` for a float `ty`.
    fn float_binary(&mut self, op: BinOp, ty: Ty) {
        let t = ftype(ty);
        let cond = match op {
            BinOp::Add => return self.put(0x1E20_2800 | t | 1 << 16),
            BinOp::Sub => return self.put(0x1E20_3800 | t | 1 << 16),
            BinOp::Mul => return self.put(0x1E20_0800 | t | 1 << 16),
            BinOp::Div => return self.put(0x1E20_1800 | t | 1 << 16),
            BinOp::Pow => return self.call_rust(Func::Pow.rust_in(ty).1.address() as usize),
            BinOp::Rem | BinOp::FloorDiv | BinOp::Mod => {
                return self.call_rust(float_division(op, ty).1.address() as usize);
            }
            // Unordered sets C and V: of these only NE holds then.
            BinOp::Lt => MI,
            BinOp::Le => LS,
            BinOp::Gt => GT,
            BinOp::Ge => GE,
            BinOp::Eq => EQ,
            BinOp::Ne => NE,
            // The parser refuses bit operators on floats.
            _ => return,
        };
        self.put(0x1E20_2000 | t | 1 << 16); // fcmp v0, v1
        self.cset(0, cond);
    }

    /// A function of integers: `abs`, `min` and `max` (the parser makes the rest floats).
    fn int_call(&mut self, f: Func, ty: Ty) {
        match f {
            Func::Abs => {
                self.cmp_zero(ty, 0);
                self.int(ty, 0x5A80_0400 | GE << 12, 0, 0, 0); // csneg x0, x0, x0, ge
            }
            Func::Min | Func::Max => {
                self.int(ty, 0x6B00_001F, 0, 0, 1); // cmp x0, x1
                let cond = if f == Func::Min { LT } else { GT };
                self.int(ty, 0x1A80_0000 | cond << 12, 0, 0, 1); // csel x0, x0, x1, cond
            }
            _ => {}
        }
    }

    /// `fmov xd, dn` (`wd, sn` for an `f32`): a float's bits.
    fn float_bits(&mut self, ty: Ty, d: u32, n: u32) {
        let op = if ty == Ty::F64 {
            0x9E66_0000
        } else {
            0x1E26_0000
        };
        self.put(op | n << 5 | d);
    }

    /// `isnan`, `isinf`, `isfinite` of `v0`, on its bits without the sign: above, equal to or
    /// below infinity's.
    fn test(&mut self, t: Test, ty: Ty) {
        let int = if ty == Ty::F64 { Ty::I64 } else { Ty::I32 };
        self.float_bits(ty, 9, 0);
        self.int(int, 0x0B00_0000, 9, 9, 9); // add x9, x9, x9: the sign shifted out
        let infinity = if ty == Ty::F64 {
            f64::INFINITY.to_bits() << 1
        } else {
            u64::from(f32::INFINITY.to_bits() << 1)
        };
        self.mov_imm(10, infinity);
        self.int(int, 0x6B00_001F, 0, 9, 10); // cmp x9, x10
        let cond = match t {
            Test::Nan => HI,
            Test::Inf => EQ,
            Test::Finite => LO,
        };
        self.cset(0, cond);
    }

    /// `total_order` of `v0`: its bits, the magnitude flipped where the sign is set.
    fn total_order(&mut self, ty: Ty) {
        self.float_bits(ty, 0, 0);
        if ty == Ty::F64 {
            self.put(0x937F_FC00 | 9); // asr x9, x0, #63
            self.put(0xD341_FC00 | 9 << 5 | 9); // lsr x9, x9, #1
            self.put(0xCA00_0000 | 9 << 16); // eor x0, x0, x9
        } else {
            self.put(0x131F_7C00 | 9); // asr w9, w0, #31
            self.put(0x5301_7C00 | 9 << 5 | 9); // lsr w9, w9, #1
            self.put(0x4A00_0000 | 9 << 16); // eor w0, w0, w9
        }
    }
}

impl TypedEmitter for Arm64 {
    fn load(&mut self, r: usize, ty: Ty, k: usize) {
        let at = self.slot(k);
        self.access(false, Kind::of(ty), r as u32, at);
    }

    fn store(&mut self, k: usize, ty: Ty) {
        let at = self.slot(k);
        self.access(true, Kind::of(ty), 0, at);
    }

    fn load_var(&mut self, index: usize, ty: Ty) {
        // One 8-byte slot per variable in memory (`Program::arg_slot`).
        self.load_var_as(Kind::of(ty), 0, index, 8);
    }

    fn store_literal(&mut self, k: usize, bits: u64) {
        self.mov_imm(9, bits);
        let at = self.slot(k);
        self.access(true, Kind::X, 9, at);
    }

    fn convert(&mut self, r: usize, from: Ty, to: Ty) {
        let r = r as u32;
        match (from, to) {
            _ if from == to => {}
            (_, Ty::Bool) if from.is_float() => {
                // fcmp vr, #0.0: unordered or unequal (a NaN is true) is NE.
                self.put(0x1E20_2008 | ftype(from) | r << 5);
                self.cset(r, NE);
            }
            (_, Ty::Bool) => {
                self.cmp_zero(from, r);
                self.cset(r, NE);
            }
            // 0 or 1 already, zero-extended; the low 32 bits of an i64 are its i32.
            (Ty::Bool, Ty::I32 | Ty::I64) | (Ty::I64, Ty::I32) => {}
            (Ty::I32, Ty::I64) => self.put(0x9340_7C00 | r << 5 | r), // sxtw
            // scvtf vr, xr (wr unless an i64).
            (Ty::Bool | Ty::I32 | Ty::I64, _) => {
                self.put(sf(from) | 0x1E22_0000 | ftype(to) | r << 5 | r);
            }
            (Ty::F32, Ty::F64) => self.put(0x1E22_C000 | r << 5 | r), // fcvt dr, sr
            (Ty::F64, Ty::F32) => self.put(0x1E62_4000 | r << 5 | r), // fcvt sr, dr
            // fcvtzs: toward zero, saturating, NaN to 0, as Rust's `as`.
            _ => self.put(sf(to) | 0x1E38_0000 | ftype(from) | r << 5 | r),
        }
    }

    fn compute(&mut self, node: Node, ty: Ty) {
        let t = ftype(ty);
        match node {
            Node::Un(UnOp::Neg) if ty.is_float() => self.put(0x1E21_4000 | t), // fneg v0, v0
            Node::Un(UnOp::Neg) if ty != Ty::Bool => self.int(ty, 0x4B00_03E0, 0, 0, 0), // neg
            Node::Un(UnOp::Not) if ty == Ty::Bool => self.put(0x5200_0000),    // eor w0, w0, #1
            Node::Un(UnOp::Not) if ty.is_int() => self.int(ty, 0x2A20_03E0, 0, 0, 0), // mvn
            Node::Bin(op) if ty.is_float() => self.float_binary(op, ty),
            Node::Bin(op) => self.int_binary(op, ty),
            Node::Select => {
                self.cmp_zero(Ty::I32, 0);
                if ty.is_float() {
                    self.put(0x1E20_0C00 | t | 2 << 16 | NE << 12 | 1 << 5); // fcsel v0, v1, v2, ne
                } else {
                    self.int(ty, 0x1A80_0000 | NE << 12, 0, 1, 2); // csel x0, x1, x2, ne
                }
            }
            Node::Call(Func::Abs) if ty.is_float() => self.put(0x1E20_C000 | t), // fabs
            Node::Call(Func::Sqrt) if ty.is_float() => self.put(0x1E21_C000 | t), // fsqrt
            Node::Call(f) if ty.is_float() => self.call_rust(f.rust_in(ty).1.address() as usize),
            Node::Call(f) if ty.is_int() => self.int_call(f, ty),
            Node::Test(test) => self.test(test, ty),
            Node::Order => self.total_order(ty),
            // A cast is its operand's conversion; the parser gives `-` and functions no bool,
            // `~` no float.
            _ => {}
        }
    }
}
