//! Go text/template compatible template engine with ESO's function set.
