//! Compiled kernels, cached by formula: one Cranelift compile per distinct expression, however
//! many partitions, batches and queries evaluate it.

use crate::translate::Ty;
use datafusion::arrow::array::{Array, ArrayRef};
use fnjit::{Formula, Jit, Kernel, Strategy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Kernels kept at most; past it the cache starts again (ad-hoc queries make new formulas
/// without end, and a kernel holds a page of code).
const CAPACITY: usize = 4096;

/// A kernel of one of the column types.
#[derive(Debug)]
pub(crate) enum AnyKernel {
    F64(Kernel<f64>),
    I64(Kernel<i64>),
    I32(Kernel<i32>),
}

impl AnyKernel {
    pub(crate) fn eval_arrow(&self, columns: &[&dyn Array]) -> Result<ArrayRef, fnjit::Error> {
        match self {
            AnyKernel::F64(k) => k.eval_arrow(columns),
            AnyKernel::I64(k) => k.eval_arrow(columns),
            AnyKernel::I32(k) => k.eval_arrow(columns),
        }
    }
}

type Key = (Ty, String, Vec<String>);

/// The cache, with the compiler it fills itself with.
#[derive(Debug, Default)]
pub(crate) struct Kernels {
    jit: Mutex<Option<Jit>>,
    map: Mutex<HashMap<Key, Arc<AnyKernel>>>,
}

impl Kernels {
    /// The kernel of `text` over `vars`, compiled on first use (Cranelift, optimizing: the
    /// queries this serves run over many rows).
    pub(crate) fn get(
        &self,
        ty: Ty,
        text: &str,
        vars: &[String],
    ) -> Result<Arc<AnyKernel>, fnjit::Error> {
        let key = (ty, text.to_owned(), vars.to_vec());
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
        let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
        let kernel = {
            let mut jit = self.jit.lock().unwrap_or_else(PoisonError::into_inner);
            let jit = match &mut *jit {
                Some(jit) => jit,
                slot => slot.insert(Jit::with_strategy(Strategy::Optimizing)?),
            };
            Arc::new(match ty {
                Ty::F64 => AnyKernel::F64(jit.compile_kernel(&Formula::parse(text, &vars)?)?),
                Ty::I64 => AnyKernel::I64(jit.compile_kernel(&Formula::parse(text, &vars)?)?),
                Ty::I32 => AnyKernel::I32(jit.compile_kernel(&Formula::parse(text, &vars)?)?),
            })
        };
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, Arc::clone(&kernel));
        Ok(kernel)
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
    fn each_formula_compiles_once_per_type_and_variables() {
        let kernels = Kernels::default();
        let vars = ["a".to_owned(), "b".to_owned()];
        let first = kernels.get(Ty::F64, "a * b", &vars).expect("compile");
        let again = kernels.get(Ty::F64, "a * b", &vars).expect("cached");
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(kernels.len(), 1);
        kernels.get(Ty::I64, "a * b", &vars).expect("compile");
        kernels.get(Ty::F64, "b * a", &vars).expect("compile");
        let swapped = ["b".to_owned(), "a".to_owned()];
        kernels.get(Ty::F64, "a * b", &swapped).expect("compile");
        assert_eq!(kernels.len(), 4);
        assert!(kernels.get(Ty::F64, "a *", &vars).is_err());
        assert_eq!(kernels.len(), 4);
    }
}
