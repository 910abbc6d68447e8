//! Compiled kernels, cached by formula: one Cranelift compile per distinct expression, however
//! many partitions, batches and queries evaluate it.

use fnjit::{Formula, Jit, Strategy, Ty, TypedFormula, TypedKernel};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Kernels kept at most; past it the cache starts again (ad-hoc queries make new formulas
/// without end, and a kernel holds a page of code).
const CAPACITY: usize = 4096;

/// The language a formula is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Language {
    /// A typed formula (the rule's translations).
    Typed,
    /// A `Formula<f64>` (the `fnjit(…)` function's), as its typed program.
    F64,
}

type Key = (Language, String, Vec<(String, Ty)>);

/// The cache, with the compiler it fills itself with.
#[derive(Debug, Default)]
pub(crate) struct Kernels {
    jit: Mutex<Option<Jit>>,
    map: Mutex<HashMap<Key, Arc<TypedKernel>>>,
}

impl Kernels {
    /// The kernel of `text` over `vars`, compiled on first use (Cranelift, optimizing: the
    /// queries this serves run over many rows).
    pub(crate) fn get(
        &self,
        language: Language,
        text: &str,
        vars: &[(String, Ty)],
    ) -> Result<Arc<TypedKernel>, fnjit::Error> {
        let key = (language, text.to_owned(), vars.to_vec());
        // A panic while a lock was held cannot have left either half-written: fnjit turns
        // Cranelift's panics into errors, and the map is only read, inserted into or cleared.
        if let Some(k) = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(k));
        }
        let formula = match language {
            Language::Typed => {
                let vars: Vec<(&str, Ty)> = vars.iter().map(|(n, t)| (n.as_str(), *t)).collect();
                TypedFormula::parse(text, &vars)?
            }
            Language::F64 => {
                let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
                Formula::<f64>::parse(text, &names)?.typed()
            }
        };
        let kernel = {
            let mut jit = self.jit.lock().unwrap_or_else(PoisonError::into_inner);
            let jit = match &mut *jit {
                Some(jit) => jit,
                slot => slot.insert(Jit::with_strategy(Strategy::Optimizing)?),
            };
            Arc::new(jit.compile_typed_kernel(&formula)?)
        };
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, Arc::clone(&kernel));
        Ok(kernel)
    }

    /// The type of the typed formula `text` over `vars`, if it parses: what its kernel would
    /// give, known without compiling it.
    pub(crate) fn ty(text: &str, vars: &[(String, Ty)]) -> Option<Ty> {
        let vars: Vec<(&str, Ty)> = vars.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        TypedFormula::parse(text, &vars).ok().map(|f| f.ty())
    }

    /// How many kernels are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_formula_compiles_once_per_language_and_variables() {
        let kernels = Kernels::default();
        let vars = [("a".to_owned(), Ty::F64), ("b".to_owned(), Ty::F64)];
        let first = kernels
            .get(Language::Typed, "a * b", &vars)
            .expect("compile");
        let again = kernels
            .get(Language::Typed, "a * b", &vars)
            .expect("cached");
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(kernels.len(), 1);
        kernels.get(Language::F64, "a * b", &vars).expect("compile");
        kernels
            .get(Language::Typed, "b * a", &vars)
            .expect("compile");
        let swapped = [vars[1].clone(), vars[0].clone()];
        kernels
            .get(Language::Typed, "a * b", &swapped)
            .expect("compile");
        let ints = [("a".to_owned(), Ty::I32), ("b".to_owned(), Ty::I64)];
        let mixed = kernels
            .get(Language::Typed, "a * b", &ints)
            .expect("compile");
        assert_eq!(mixed.ty(), Ty::I64);
        assert_eq!(kernels.len(), 5);
        assert!(kernels.get(Language::Typed, "a *", &vars).is_err());
        assert_eq!(kernels.len(), 5);
    }
}
