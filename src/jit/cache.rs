//! The compile cache: the same parsed formula gets the same code (see
//! [`crate::Jit::compile_formula_cached`]).
//!
//! The key is the formula's program, the postfix form parsing leaves: its type, its number of
//! variables, and its nodes (literals by their bits). Spelling is gone by then (whitespace,
//! redundant parentheses, the variables' names), so `x*(y+1)` and ` x * ( (y) + 1 )` share an
//! entry. The cache is bounded; when full, the entry used longest ago goes. An entry holds the
//! code like any function does: the memory is freed when the cache and the last function have
//! both let go of it.

use crate::expr::Program;
use crate::func::Ir;
use crate::memory::CodeRef;
use std::collections::HashMap;
use std::sync::Arc;

/// How a compile cache has done so far (see [`crate::Jit::cache_stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found the formula's code.
    pub hits: u64,
    /// Lookups that did not, and compiled.
    pub misses: u64,
    /// Formulas held now.
    pub entries: usize,
    /// The most it holds.
    pub capacity: usize,
}

pub(super) struct Cache {
    entries: HashMap<Program, Entry>,
    capacity: usize,
    /// Counts lookups: an entry's `used` is the count at its last use.
    clock: u64,
    hits: u64,
    misses: u64,
}

struct Entry {
    code: CodeRef,
    ir: Option<Arc<Ir>>,
    used: u64,
}

impl Cache {
    pub(super) fn new(capacity: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            capacity,
            clock: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// The code compiled for `program`, counting a hit or a miss.
    pub(super) fn get(&mut self, program: &Program) -> Option<(CodeRef, Option<Arc<Ir>>)> {
        self.clock += 1;
        match self.entries.get_mut(program) {
            Some(entry) => {
                self.hits += 1;
                entry.used = self.clock;
                Some((entry.code.clone(), entry.ir.clone()))
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Keeps `code` for `program`, making room first.
    pub(super) fn insert(&mut self, program: Program, code: CodeRef, ir: Option<Arc<Ir>>) {
        if self.capacity == 0 {
            return;
        }
        self.make_room(self.capacity - 1);
        let used = self.clock;
        self.entries.insert(program, Entry { code, ir, used });
    }

    /// Sets the bound, dropping the entries used longest ago that no longer fit.
    pub(super) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.make_room(capacity);
    }

    fn make_room(&mut self, keep: usize) {
        while self.entries.len() > keep {
            let oldest = self.entries.iter().min_by_key(|(_, e)| e.used);
            let Some(program) = oldest.map(|(p, _)| p.clone()) else {
                return;
            };
            self.entries.remove(&program);
        }
    }

    pub(super) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits,
            misses: self.misses,
            entries: self.entries.len(),
            capacity: self.capacity,
        }
    }
}
