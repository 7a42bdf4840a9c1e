@parameters @apps
Feature: Every documented parameter of the application and dist actions, by each method and placement
  The official metadata lists the parameters of CreateApplication, DescribeApplication,
  ListApplications, DeleteApplication, DistApplicationData and DescribeDataDistResult, all
  "in: query", each action by POST and GET. The RPC gateway reads parameters from the query and
  from an application/x-www-form-urlencoded body alike.

  Background:
    Given the target's regions are known
    And an application with the instances:
      | region    | count |
      | {region1} | 1     |

  @core
  Scenario Outline: CreateApplication takes every documented parameter by <method> in the <placement>
    When I call CreateApplication with every documented parameter by <method> in the <placement>
    Then the request succeeds
    And the answer has a non-empty AppId string

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |

  @core
  Scenario Outline: DescribeApplication takes every documented parameter by <method> in the <placement>
    When I call DescribeApplication with every documented parameter by <method> in the <placement>
    Then the request succeeds
    And the Application is a JSON string

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |

  @core
  Scenario Outline: ListApplications takes every documented parameter by <method> in the <placement>
    When I call ListApplications with every documented parameter by <method> in the <placement>
    Then the request succeeds
    And the answer has the integers PageNumber, PageSize and TotalCount

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |

  @core
  Scenario Outline: DeleteApplication takes every documented parameter by <method> in the <placement>
    When I call DeleteApplication with every documented parameter by <method> in the <placement>
    Then the request succeeds

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |

  @core @dist
  Scenario Outline: DistApplicationData takes every documented parameter by <method> in the <placement>
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I call DistApplicationData with every documented parameter by <method> in the <placement>
    Then the request succeeds
    And the DistInstanceTotalCount is the number of DistInstanceIds

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |

  @core @dist
  Scenario Outline: DescribeDataDistResult takes every documented parameter by <method> in the <placement>
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    And I call DescribeDataDistResult with every documented parameter by <method> in the <placement>
    Then the request succeeds
    And the dist results have the documented shape

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |
