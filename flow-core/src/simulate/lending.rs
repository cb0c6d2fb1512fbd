//! Tonight's overflow across a clinical network: when a pool has emergency patients
//! boarding at midnight and links lend it beds of its kind at other sites
//! (`network.links[].beds`), as many as possible move into the lenders' free beds.
//! "As many as possible" is a maximum flow (petgraph's `dinics`): source → each
//! borrowing pool (its boarders) → each lender (the link's `lend` less the beds it
//! already lends) → sink (the lender's free beds, after its own boarders).
//!
//! The engine (`engine.rs`) calls [`place`] at every midnight and moves the patients;
//! this part only decides how many go along each lending edge, and is pure.

use petgraph::Graph;
use petgraph::algo::dinics;

/// A pool that may take another's overflow: `borrower`'s patients into `lender`'s
/// beds, at most `lend` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lending {
    pub borrower: usize,
    pub lender: usize,
    pub lend: i64,
}

/// Patients to move along each of `edges` (same order) tonight: `boarding[p]`
/// patients of pool `p` have no bed, `free[p]` beds of `p` are free after its own
/// boarders, and `lent[e]` beds of edge `e` are already taken by earlier moves. The
/// total is the most any placement can achieve.
pub(crate) fn place(boarding: &[i64], free: &[i64], edges: &[Lending], lent: &[i64]) -> Vec<i64> {
    let mut out = vec![0; edges.len()];
    let useful = edges.iter().any(|e| {
        boarding.get(e.borrower).is_some_and(|&b| b > 0)
            && free.get(e.lender).is_some_and(|&f| f > 0)
    });
    if !useful {
        return out;
    }
    let pools = boarding.len().max(free.len());
    let mut graph: Graph<(), u64> = Graph::with_capacity(2 * pools + 2, edges.len() + 2 * pools);
    let source = graph.add_node(());
    let sink = graph.add_node(());
    // Borrower side and lender side of each pool, so a pool that both borrows and
    // lends cannot pass patients through itself.
    let borrower: Vec<_> = (0..pools).map(|_| graph.add_node(())).collect();
    let lender: Vec<_> = (0..pools).map(|_| graph.add_node(())).collect();
    for (p, &b) in boarding.iter().enumerate() {
        if b > 0 {
            graph.add_edge(source, borrower[p], b.unsigned_abs());
        }
    }
    for (p, &f) in free.iter().enumerate() {
        if f > 0 {
            graph.add_edge(lender[p], sink, f.unsigned_abs());
        }
    }
    let mut index = Vec::with_capacity(edges.len());
    for (e, edge) in edges.iter().enumerate() {
        let cap = edge.lend - lent.get(e).copied().unwrap_or(0);
        if cap > 0 && edge.borrower < pools && edge.lender < pools {
            let id = graph.add_edge(
                borrower[edge.borrower],
                lender[edge.lender],
                cap.unsigned_abs(),
            );
            index.push((e, id));
        }
    }
    let (_, flows) = dinics(&graph, source, sink);
    for (e, id) in index {
        let flow = flows.get(id.index()).copied().unwrap_or(0);
        out[e] = i64::try_from(flow).unwrap_or(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(borrower: usize, lender: usize, lend: i64) -> Lending {
        Lending {
            borrower,
            lender,
            lend,
        }
    }

    #[test]
    fn overflow_goes_where_beds_and_lending_allow() {
        // Pool 0 has 5 boarders; pool 1 lends it up to 3 (2 free), pool 2 up to 4
        // (10 free): 2 + 3 = 5 move.
        let edges = [edge(0, 1, 3), edge(0, 2, 4)];
        let flow = place(&[5, 0, 0], &[0, 2, 10], &edges, &[0, 0]);
        assert_eq!(flow.iter().sum::<i64>(), 5);
        assert!(flow[0] <= 2 && flow[1] <= 4, "{flow:?}");
        // Beds already lent count against the link.
        let flow = place(&[5, 0, 0], &[0, 2, 10], &edges, &[0, 3]);
        assert_eq!(flow, [2, 1]);
    }

    #[test]
    fn a_shared_lender_serves_both_borrowers_as_far_as_it_can() {
        // Pools 0 and 1 both borrow from 2 (3 free beds) and 1 also from 3: the
        // greedy order would give 2's beds to 0 first; max flow still places 4.
        let edges = [edge(0, 2, 3), edge(1, 2, 3), edge(1, 3, 1)];
        let flow = place(&[3, 1, 0, 0], &[0, 0, 3, 1], &edges, &[0, 0, 0]);
        assert_eq!(flow.iter().sum::<i64>(), 4, "{flow:?}");
    }

    #[test]
    fn nothing_moves_without_boarders_free_beds_or_lending() {
        let edges = [edge(0, 1, 2)];
        assert_eq!(place(&[0, 0], &[0, 5], &edges, &[0]), [0]);
        assert_eq!(place(&[4, 0], &[0, 0], &edges, &[0]), [0]);
        assert_eq!(place(&[4, 0], &[0, 5], &edges, &[2]), [0]);
        assert_eq!(place(&[4, 0], &[0, 5], &[], &[]), Vec::<i64>::new());
        // A pool that lends and borrows does not pass patients through itself.
        let chain = [edge(0, 1, 5), edge(1, 2, 5)];
        assert_eq!(place(&[3, 0, 0], &[0, 0, 9], &chain, &[0, 0]), [0, 0]);
    }
}
