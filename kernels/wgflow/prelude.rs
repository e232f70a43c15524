use wgflow::prelude::*;
wgflow::notebook::init();
