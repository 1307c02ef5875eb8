//! Sorting lists of views with one sort in the web client.
//!
//! `slice::sort_by` is generic over the element and the comparison: every
//! call site compiles its own copy of the standard library's sort (some
//! 4 KB of wasm each, a dozen of them in the client). [`by`] sorts the
//! positions (`usize`) with a comparison behind `&dyn`, which is one copy
//! for every caller, and then moves the elements into that order by
//! swapping: the part that depends on the element type is a few lines.

use std::cmp::Ordering;

/// Sorts `items` by `cmp`, stably (equal elements keep their order), as
/// `sort_by` does. For the lists the client shows (threads, proposals,
/// versions, cards), not for hot inner loops: each comparison is an
/// indirect call.
pub fn by<T>(items: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = positions(items.len(), &|a, b| cmp(&items[a], &items[b]));
    permute(items, order);
}

/// Sorts `items` by a key, stably, as `sort_by_key` does.
pub fn by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `u64`s ascending: a least-significant-digit radix sort, a byte
/// at a time (no generic sort instantiated for them; and linear time, for
/// the comment anchors' index of a whole summary's text).
pub fn u64s(keys: &mut Vec<u64>) {
    let mut from = std::mem::take(keys);
    let mut to = vec![0; from.len()];
    for shift in (0..64).step_by(8) {
        let digit = |k: u64| (k >> shift) as usize & 0xff;
        let mut starts = [0usize; 256];
        for &k in &from {
            starts[digit(k)] += 1;
        }
        let mut at = 0;
        for slot in &mut starts {
            let count = *slot;
            *slot = at;
            at += count;
        }
        for &k in &from {
            let d = digit(k);
            to[starts[d]] = k;
            starts[d] += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    *keys = from;
}

/// The positions `0..len` in the order `cmp` puts them.
fn positions(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Puts the element at `order[i]` at `i`, for every `i`, following each
/// cycle of the permutation once (a visited position is marked
/// `usize::MAX`).
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut at = start;
        loop {
            let from = std::mem::replace(&mut order[at], usize::MAX);
            // `from == usize::MAX`: this cycle is done (or `start` was in an
            // earlier one); `from == start`: the cycle's last element (the
            // one from `start`) has arrived at `at` through the swaps.
            if from == usize::MAX || from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_as_the_standard_stable_sort(items in proptest::collection::vec((0u8..6, any::<u16>()), 0..60)) {
            let mut ours = items.clone();
            by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut std = items.clone();
            std.sort_by_key(|a| a.0);
            prop_assert_eq!(&ours, &std);
            let mut keyed = items.clone();
            by_key(&mut keyed, |x| std::cmp::Reverse(x.1));
            let mut std = items;
            std.sort_by_key(|x| std::cmp::Reverse(x.1));
            prop_assert_eq!(keyed, std);
        }

        #[test]
        fn sorts_u64s_as_the_standard_sort(mut keys in proptest::collection::vec(any::<u64>(), 0..300)) {
            let mut std = keys.clone();
            std.sort_unstable();
            u64s(&mut keys);
            prop_assert_eq!(keys, std);
        }
    }

    #[test]
    fn sorts_every_permutation_of_five() {
        let mut items: Vec<u32> = (0..5).collect();
        // Heap's algorithm over all 120 orders.
        fn each(k: usize, items: &mut Vec<u32>) {
            if k == 1 {
                let mut sorted = items.clone();
                by(&mut sorted, |a, b| a.cmp(b));
                assert_eq!(sorted, [0, 1, 2, 3, 4], "from {items:?}");
                return;
            }
            for i in 0..k {
                each(k - 1, items);
                items.swap(if k.is_multiple_of(2) { i } else { 0 }, k - 1);
            }
        }
        each(5, &mut items);
    }
}
