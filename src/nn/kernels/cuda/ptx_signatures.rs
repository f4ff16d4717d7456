//! The built PTX against the launchers' argument lists (CUDA builds only; run by
//! tools/cuda-build-check.sh): for every kernel of `launch::ALL`, its module's PTX has a
//! `.visible .entry <name>(` whose `.param`s agree in count, size and kind with the declared
//! parameters. cudarc's launch builder is untyped, so this is where a wrong argument list shows
//! without a GPU (two arguments of one kind swapped still pass).

use super::launch::{Module, ALL};

/// The `.param` types of entry `name` in `ptx`, in order (`.u64`, `.u32`, `.f32`, ...).
fn entry_params(ptx: &str, name: &str) -> Option<Vec<String>> {
    let start = ptx.find(&format!(".entry {name}("))?;
    let rest = &ptx[start..];
    let end = rest.find(')')?;
    Some(
        rest[..end]
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let after = l.strip_prefix(".param ")?;
                Some(after.split_whitespace().next()?.to_string())
            })
            .collect(),
    )
}

#[test]
fn every_kernel_entry_takes_the_declared_arguments() {
    for k in ALL {
        let ptx = super::ptx(k.module);
        let got = entry_params(ptx, k.name)
            .unwrap_or_else(|| panic!("{}.ptx has no entry {}", k.module.stem(), k.name));
        let want: Vec<&str> = k.params.iter().map(|p| p.kind.ptx()).collect();
        assert_eq!(got, want, "{}: PTX parameters vs the declared list", k.name);
    }
}

#[test]
fn every_module_is_ptx_of_a_supported_version() {
    for m in Module::ALL {
        let ptx = super::ptx(m);
        assert!(ptx.contains(".version "), "{}.ptx", m.stem());
        assert!(ptx.contains(".target sm_"), "{}.ptx", m.stem());
    }
}
