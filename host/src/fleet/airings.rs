//! `hushmark airings`: the fleet's as-aired log read back.
