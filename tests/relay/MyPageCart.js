// 予約カート: add and remove lines, then place them all (placed lines leave the cart and join the holds).
import { graphql } from 'react-relay';

export const fragment = graphql`
  fragment MyPageCart_patron on Patron {
    holdCart(first: 30) @connection(key: "MyPageCart_holdCart") {
      __id
      edges { node { ...MyPageCart_entry } }
    }
  }
`;

export const entry = graphql`
  fragment MyPageCart_entry on HoldCartEntry {
    id
    addedAt
    title { id title }
    holdability { holdable reasons messages }
  }
`;

export const addToHoldCart = graphql`
  mutation MyPageCartAddMutation($input: AddToHoldCartInput!, $connections: [ID!]!) {
    addToHoldCart(input: $input) {
      errors { code field message }
      entryEdge @appendEdge(connections: $connections) { cursor node { ...MyPageCart_entry } }
    }
  }
`;

export const removeFromHoldCart = graphql`
  mutation MyPageCartRemoveMutation($input: RemoveFromHoldCartInput!, $connections: [ID!]!) {
    removeFromHoldCart(input: $input) {
      errors { code message }
      removedEntryId @deleteEdge(connections: $connections)
    }
  }
`;

export const placeHoldsFromCart = graphql`
  mutation MyPageCartPlaceMutation($input: PlaceHoldsFromCartInput!, $cart: [ID!]!, $holds: [ID!]!) {
    placeHoldsFromCart(input: $input) {
      errors { code message }
      results {
        title { id title }
        errors { code message }
        removedEntryId @deleteEdge(connections: $cart)
        holdEdge @appendEdge(connections: $holds) { cursor node { ...MyPageHolds_hold } }
      }
    }
  }
`;
